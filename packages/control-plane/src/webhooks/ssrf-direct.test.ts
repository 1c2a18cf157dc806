import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeTestControlPlanes } from '../../../../test/kit/control-plane.js';
import type { ControlPlane } from '../server.js';
import * as wh from './receivers.test-util.js';
import type { LookupAll } from './ssrf-guard.js';

/**
 * The SSRF guard on real calls: a control plane with no BOREALIS_DIRECT_ALLOW refuses direct
 * webhooks to internal addresses (and names that resolve to them) before connecting, naming the
 * rule; once allowed, the same call goes through.
 */
let cp: ControlPlane;
let v4: wh.Receiver;
let v6: wh.Receiver;

beforeAll(async () => {
  // No BOREALIS_DIRECT_ALLOW: the guard refuses every internal address.
  cp = (await wh.startWebhookTestControlPlane({ directAllow: [] })).cp;
  v4 = await wh.startReceiver({ callback: { success: true } });
  v6 = await wh.startReceiver({ host: '::1', answer: () => ({ status: 200 }) });
});

afterAll(async () => {
  await v4?.close();
  await v6?.close();
  await closeTestControlPlanes();
});

function serviceWith(directAllow: string[], lookup?: LookupAll) {
  return wh.sideWebhookService(cp, { directAllow, ...(lookup ? { lookup } : {}) });
}

describe('direct webhooks and the SSRF guard', () => {
  it.each([
    ['127.0.0.1', () => `${v4.url}/hook`, 'loopback', '127.0.0.1/32'],
    ['10.0.0.1', () => 'http://10.0.0.1/hook', 'private (RFC 1918)', '10.0.0.1/32'],
    [
      '169.254.169.254',
      () => 'http://169.254.169.254/latest/meta-data/',
      'cloud metadata',
      '169.254.169.254/32',
    ],
    ['[::1]', () => `${v6.url}/hook`, 'loopback', '::1/128'],
    ['localhost', () => `http://localhost:${v4.port}/hook`, 'loopback', '127.0.0.1/32'],
  ])('refuses %s, naming the rule and the setting that allows it', async (_name, url, rule, allowEntry) => {
    const seen = v4.requests.length + v6.requests.length;
    const run = await cp.webhooks.start(wh.invocationFor(wh.githubLikeWebhook(url(), { retryCount: 3 })));
    const done = await wh.waitForRun(cp.webhooks, run.id, undefined, 5_000);
    expect(done.status).toBe('failed');
    expect(done.reasonCode).toBe('BRL_ERR_WEBHOOK_SSRF_REFUSED');
    expect(done.reason).toContain(`a ${rule} address`);
    expect(done.reason).toContain(`BOREALIS_DIRECT_ALLOW=${allowEntry}`);
    // Final, not retried, and nothing reached the receivers.
    expect(done.attempts).toHaveLength(1);
    expect(v4.requests.length + v6.requests.length).toBe(seen);
  });

  it('checks the address it connects to: a public-looking name that resolves to loopback is refused', async () => {
    const resolved: string[] = [];
    const rebinding: LookupAll = (hostname, callback) => {
      resolved.push(hostname);
      callback(null, [{ address: '127.0.0.1', family: 4 }]);
    };
    const service = serviceWith([], rebinding);
    try {
      const run = await service.start(
        wh.invocationFor(wh.githubLikeWebhook(`http://hooks.example.com:${v4.port}/hook`)),
      );
      const done = await wh.waitForRun(service, run.id, undefined, 5_000);
      expect(resolved).toEqual(['hooks.example.com']);
      expect(done.reasonCode).toBe('BRL_ERR_WEBHOOK_SSRF_REFUSED');
      expect(done.reason).toContain('hooks.example.com (127.0.0.1)');
      expect(done.reason).toContain('loopback');
    } finally {
      await service.close();
    }
  });

  it('goes through once BOREALIS_DIRECT_ALLOW allows the addresses', async () => {
    const service = serviceWith(['127.0.0.1/32', '::1/128']);
    try {
      for (const url of [`${v4.url}/hook`, `http://localhost:${v4.port}/hook`]) {
        const before = v4.requests.length;
        const run = await service.start(wh.invocationFor(wh.githubLikeWebhook(url)));
        const done = await wh.waitForRun(service, run.id, undefined, 5_000);
        expect(done.status, url).toBe('succeeded');
        expect(v4.requests.length).toBe(before + 1);
      }
      const run6 = await service.start(
        wh.invocationFor(wh.githubLikeWebhook(`${v6.url}/hook`, { disableCallback: true })),
      );
      expect((await wh.waitForRun(service, run6.id, undefined, 5_000)).status).toBe('succeeded');
      expect(v6.requests).toHaveLength(1);
    } finally {
      await service.close();
    }
  });
});
