import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from './backoff.js';
import { createRateLimiter } from './rate-limiter.js';

describe('retry backoff', () => {
  const options = { baseMs: 1000, capMs: 30_000, retryAfterMaxMs: 60_000 };

  it('is full jitter: between 0 and min(cap, base * 2^(attempt-1))', () => {
    expect(backoffDelay(1, { ...options, random: () => 0 })).toBe(0);
    expect(backoffDelay(1, { ...options, random: () => 0.999999 })).toBe(999);
    expect(backoffDelay(3, { ...options, random: () => 0.5 })).toBe(2000);
    expect(backoffDelay(20, { ...options, random: () => 0.999999 })).toBe(29_999);
    for (let attempt = 1; attempt < 12; attempt++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, options);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(30_000, 1000 * 2 ** (attempt - 1)));
      }
    }
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores what it cannot read', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:05 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('callback rate limiter', () => {
  it('lets a burst through, then refuses until tokens come back, per address', () => {
    let t = 0;
    const limiter = createRateLimiter({ burst: 3, perSecond: 2 }, () => t);
    expect([1, 2, 3, 4].map(() => limiter.take('203.0.113.1'))).toEqual([true, true, true, false]);
    expect(limiter.take('203.0.113.2')).toBe(true);
    t = 500;
    expect(limiter.take('203.0.113.1')).toBe(true);
    expect(limiter.take('203.0.113.1')).toBe(false);
  });

  it('never limits exempt addresses and stays bounded in memory', () => {
    const limiter = createRateLimiter({
      burst: 1,
      perSecond: 0,
      exempt: (a) => a === '127.0.0.1',
      maxAddresses: 10,
    });
    for (let i = 0; i < 100; i++) expect(limiter.take('127.0.0.1')).toBe(true);
    for (let i = 0; i < 1000; i++) limiter.take(`198.51.100.${i % 250}`);
    expect(limiter.take('198.51.100.251')).toBe(true);
  });
});
