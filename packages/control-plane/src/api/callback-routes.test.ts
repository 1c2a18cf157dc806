import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeTestControlPlanes } from '../../../../test/kit/control-plane.js';
import type { ControlPlane } from '../server.js';
import type { WebhookService } from '../webhooks/index.js';
import * as wh from '../webhooks/receivers.test-util.js';

/** POST /callbacks/:token/callback, over real HTTP: every answer the product promises. */
let cp: ControlPlane;
const receivers: wh.Receiver[] = [];
let logs: string[] = [];

beforeAll(async () => {
  const started = await wh.startWebhookTestControlPlane({ log: 'debug' });
  cp = started.cp;
  logs = started.logs;
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

afterAll(closeTestControlPlanes);

/** A run that was called and now awaits its callback; returns its callback URI. */
async function awaitingRun(service: WebhookService = cp.webhooks) {
  const r = await wh.startReceiver();
  receivers.push(r);
  const run = await service.start(wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`)));
  await wh.waitForRun(service, run.id, (x) => x.status === 'awaiting_callback');
  const uri = /"callbackUri": "([^"]+)"/.exec(r.requests[0]!.body)?.[1];
  if (!uri) throw new Error('the receiver got no callback URI');
  return { run, uri };
}

function post(uri: string, body: string, contentType = 'application/json') {
  return fetch(uri, { method: 'POST', headers: { 'content-type': contentType }, body });
}

describe('callback answers', () => {
  it('200 and settles; the same outcome again is 200 and changes nothing; another outcome is 409', async () => {
    const { run, uri } = await awaitingRun();
    const first = await post(uri, JSON.stringify({ success: true, mdMessage: 'all green' }));
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ status: 'succeeded' });
    const settled = await cp.webhooks.get(run.id);
    expect(settled?.status).toBe('succeeded');

    const repeat = await post(uri, JSON.stringify({ success: true }));
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toEqual({ status: 'succeeded' });
    expect(await cp.webhooks.get(run.id)).toEqual(settled);

    const conflict = await post(uri, JSON.stringify({ success: false }));
    expect(conflict.status).toBe(409);
    const body = (await conflict.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BRL_ERR_CALLBACK_CONFLICT');
    expect(body.error.message).toContain('already settled as succeeded');
    expect(await cp.webhooks.get(run.id)).toEqual(settled);
  });

  it('400 for a body without a boolean success, and the token still works afterwards', async () => {
    const { run, uri } = await awaitingRun();
    const bad = [
      'not json',
      '',
      '[]',
      '{}',
      '{"success": "true"}',
      '{"success": 1}',
      '{"success": true, "mdMessage": 42}',
      JSON.stringify({ success: true, mdMessage: 'x'.repeat(64 * 1024 + 1) }),
    ];
    for (const body of bad) {
      const res = await post(uri, body);
      expect(res.status, body.slice(0, 40)).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BRL_ERR_CALLBACK_INVALID');
    }
    const huge = await post(uri, JSON.stringify({ success: true, pad: 'x'.repeat(200 * 1024) }));
    expect(huge.status).toBe(413);
    expect((await cp.webhooks.get(run.id))?.status).toBe('awaiting_callback');

    // curl -d sends form-urlencoded; the JSON in it still counts.
    const ok = await post(
      uri,
      JSON.stringify({ success: false, mdMessage: 'x'.repeat(64 * 1024) }),
      'application/x-www-form-urlencoded',
    );
    expect(ok.status).toBe(200);
    expect((await cp.webhooks.get(run.id))?.status).toBe('failed');
  });

  it('404 for an unknown token, whatever its shape', async () => {
    const base = `${cp.url}/callbacks`;
    for (const token of [randomBytes(32).toString('base64url'), 'short', 'x'.repeat(60), '..%2F..%2Fapi']) {
      const res = await post(`${base}/${token}/callback`, JSON.stringify({ success: true }));
      expect(res.status, token).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(
        /BRL_ERR_(CALLBACK_UNKNOWN|NOT_FOUND)/,
      );
    }
  });

  it('answers other requests under /callbacks/ with a hint, and logs no callback URL at all', async () => {
    const { uri } = await awaitingRun();
    const token = /\/callbacks\/([^/]+)\//.exec(uri)![1]!;
    for (const [method, url] of [
      ['GET', uri],
      ['POST', uri.replace(/\/callback$/, '')],
      ['PUT', uri],
    ] as const) {
      const res = await fetch(url, { method, ...(method === 'GET' ? {} : { body: '{"success": true}' }) });
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        'POST <callbackUri>/callback',
      );
    }
    expect(logs.join('\n')).not.toContain(token);
  });

  // Issue 10: loopback is no longer exempt from the limit on failed look-ups, so past the first
  // 30 the flood is answered 429 rather than 404; either way no random token is accepted, and
  // the valid callback, sent after the flood from the same address, still settles the run.
  it('accepts none of 10,000 random tokens, and the valid one still gets through after them', async () => {
    const { run, uri } = await awaitingRun();
    const pool = new Pool(cp.url, { connections: 16 });
    const statuses = new Map<number, number>();
    try {
      const tokens = Array.from({ length: 10_000 }, () => randomBytes(32).toString('base64url'));
      let next = 0;
      const worker = async () => {
        while (next < tokens.length) {
          const token = tokens[next++];
          const res = await pool.request({
            method: 'POST',
            path: `/callbacks/${token}/callback`,
            headers: { 'content-type': 'application/json' },
            body: '{"success": true}',
          });
          await res.body.dump();
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
    } finally {
      await pool.close();
    }
    expect([...statuses.keys()].sort()).toEqual([404, 429]);
    expect((statuses.get(404) ?? 0) + (statuses.get(429) ?? 0)).toBe(10_000);
    expect(statuses.get(404)).toBeLessThan(100);
    expect((await cp.webhooks.get(run.id))?.status).toBe('awaiting_callback');
    const valid = await post(uri, JSON.stringify({ success: true }));
    expect(valid.status).toBe(200);
    expect((await cp.webhooks.get(run.id))?.status).toBe('succeeded');
  }, 60_000);

  it('limits failed look-ups per source address; a valid token from that address is never limited', async () => {
    const token = randomBytes(32).toString('base64url');
    const codes: number[] = [];
    for (let i = 0; i < 80; i++) {
      const res = await cp.app.inject({
        method: 'POST',
        url: `/callbacks/${token}/callback`,
        remoteAddress: '203.0.113.7',
        payload: { success: true },
      });
      codes.push(res.statusCode);
    }
    expect(codes.slice(0, 30).every((c) => c === 404)).toBe(true);
    // One failure a second comes back, so a slow run may see a few 404s among the rest.
    expect(codes.slice(30).filter((c) => c === 429).length).toBeGreaterThanOrEqual(40);
    const other = await cp.app.inject({
      method: 'POST',
      url: `/callbacks/${token}/callback`,
      remoteAddress: '203.0.113.8',
      payload: { success: true },
    });
    expect(other.statusCode).toBe(404);
    // The limited address holds a valid callback URI too: it is looked up and accepted.
    const { run, uri } = await awaitingRun();
    const valid = await cp.app.inject({
      method: 'POST',
      url: new URL(uri).pathname,
      remoteAddress: '203.0.113.7',
      payload: { success: true },
    });
    expect(valid.statusCode).toBe(200);
    expect((await cp.webhooks.get(run.id))?.status).toBe('succeeded');
  });
});

describe('late callbacks', () => {
  function shortDeadlineService(callbackTimeoutMs: number) {
    // Same store and routes as the control plane; only the deadline is short.
    return wh.sideWebhookService(cp, { callbackTimeoutMs, directAllow: ['127.0.0.1/32'] });
  }

  it('409 after the run failed at its deadline', async () => {
    const service = shortDeadlineService(600);
    try {
      const { run, uri } = await awaitingRun(service);
      const failed = await wh.waitForRun(service, run.id);
      expect(failed.status).toBe('failed');
      expect(failed.reason).toBe('no callback within 600ms (BOREALIS_CALLBACK_TIMEOUT)');
      const res = await post(uri, JSON.stringify({ success: true }));
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        'past its deadline',
      );
      expect((await cp.webhooks.get(run.id))?.status).toBe('failed');
    } finally {
      await service.close();
    }
  });

  it('409 past the deadline even when no timer has fired yet (the stored deadline decides)', async () => {
    const service = shortDeadlineService(600);
    const { run, uri } = await awaitingRun(service);
    // Its timers go with it: only the stored deadline is left.
    await service.close();
    await new Promise((r) => setTimeout(r, 700));
    expect((await cp.webhooks.get(run.id))?.status).toBe('awaiting_callback');
    const res = await post(uri, JSON.stringify({ success: true }));
    expect(res.status).toBe(409);
    expect(await cp.webhooks.get(run.id)).toMatchObject({
      status: 'failed',
      reasonCode: 'BRL_ERR_WEBHOOK_CALLBACK_TIMEOUT',
    });
  });
});
