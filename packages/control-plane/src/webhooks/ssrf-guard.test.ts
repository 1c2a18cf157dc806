import { describe, expect, it } from 'vitest';
import { createSsrfGuard } from './ssrf-guard.js';

describe('SSRF guard rules', () => {
  const guard = createSsrfGuard([]);
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.1', 'private (RFC 1918)'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['172.31.255.254', 'private (RFC 1918)'],
    ['192.168.1.1', 'private (RFC 1918)'],
    ['::ffff:10.1.2.3', 'private (RFC 1918)'],
    ['100.64.0.1', 'carrier-grade NAT (RFC 6598)'],
    ['169.254.169.254', 'cloud metadata'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['169.254.10.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local (fc00::/7)'],
    ['fdab:cdef::1', 'unique-local (fc00::/7)'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['64:ff9b::7f00:1', 'loopback, through NAT64'],
    ['2002:a00:1::1', 'private (RFC 1918), through 6to4'],
    ['224.0.0.1', 'multicast or reserved'],
  ])('refuses %s as %s', (address, rule) => {
    expect(guard.check(address)?.rule).toBe(rule);
  });

  it.each(['8.8.8.8', '172.32.0.1', '100.128.0.1', '1.1.1.1', '2606:4700:4700::1111', '64:ff9b::808:808'])(
    'lets the public address %s through',
    (address) => {
      expect(guard.check(address)).toBeUndefined();
    },
  );

  it('lets through exactly what BOREALIS_DIRECT_ALLOW names, in any spelling of the address', () => {
    const allowing = createSsrfGuard(['127.0.0.1/32', '10.20.0.0/16', 'fd12::/16']);
    expect(allowing.check('127.0.0.1')).toBeUndefined();
    expect(allowing.check('::ffff:127.0.0.1')).toBeUndefined();
    expect(allowing.check('127.0.0.2')?.rule).toBe('loopback');
    expect(allowing.check('10.20.3.4')).toBeUndefined();
    expect(allowing.check('10.21.0.1')?.rule).toBe('private (RFC 1918)');
    expect(allowing.check('fd12::9')).toBeUndefined();
    expect(allowing.check('::1')?.rule).toBe('loopback');
  });

  it('says which rule refused and how to allow the address', () => {
    const refusal = guard.check('10.0.0.1');
    expect(refusal).toBeDefined();
    const err = guard.refusalError('internal.example', refusal!);
    expect(err.code).toBe('BRL_ERR_WEBHOOK_SSRF_REFUSED');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('internal.example (10.0.0.1)');
    expect(err.message).toContain('private (RFC 1918)');
    expect(err.message).toContain('BOREALIS_DIRECT_ALLOW=10.0.0.1/32');
    expect(err.details).toMatchObject({ rule: 'private (RFC 1918)', cidr: '10.0.0.0/8' });
  });
});
