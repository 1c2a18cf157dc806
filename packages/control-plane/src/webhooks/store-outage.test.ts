import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CuttableProxy, startCuttableProxy } from '../../../../test/kit/cuttable-proxy.mjs';
import { type ControlPlane, createControlPlane } from '../server.js';
import { createTestDatabase, type TestDatabase } from '../store/test-stores.test-util.js';
import { githubLikeWebhook, invocationFor, type Receiver, startReceiver } from './receivers.test-util.js';

/**
 * The database link cut under a webhook run (the chaos run's "dbCut", made to land at the worst
 * moment): the call was made and failed, and recording that failure hit the cut link. Before,
 * the run stayed pending with no timer until the next restart; now it is looked at again once the
 * store answers, and goes on. Real PostgreSQL behind a TCP proxy the test cuts.
 */
let db: TestDatabase;
let proxy: CuttableProxy;
let cp: ControlPlane;
let receiver: Receiver | undefined;

beforeAll(async () => {
  db = await createTestDatabase('postgres');
  const target = new URL(db.databaseUrl);
  proxy = await startCuttableProxy(target.hostname, Number(target.port || 5432));
  const url = new URL(db.databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  cp = await createControlPlane({
    host: '127.0.0.1',
    port: 0,
    dataDir: db.dir,
    databaseUrl: url.toString(),
    apiToken: 'store-outage-token-0123456789',
    directAllow: ['127.0.0.1/32'],
    logger: pino({ level: 'silent' }),
  });
  await cp.listen();
  await cp.secrets.put('github_token', 'ghp_x');
}, 30_000);

afterAll(async () => {
  await receiver?.close();
  await cp?.close();
  await proxy?.close();
  await db?.dispose();
});

describe('a database cut while a webhook attempt is recorded', () => {
  it('is looked at again once the store is back, and goes on to its callback', async () => {
    receiver = await startReceiver({
      answer: (i) => {
        if (i > 0) return { status: 204 };
        // The first call fails (503, retryable), and the database link goes down as it does.
        proxy.cut(1_500);
        return { status: 503, body: 'busy' };
      },
      callback: { success: true },
    });
    const run = await cp.webhooks.start(
      invocationFor(githubLikeWebhook(`${receiver.url}/hook`, { retryCount: 2 })),
    );
    // Reads fail while the link is down: ask until the store answers and the run has settled.
    let done = run;
    const end = Date.now() + 20_000;
    while (!['succeeded', 'failed', 'cancelled'].includes(done.status)) {
      if (Date.now() > end) throw new Error(`run still ${done.status} after 20 s`);
      await new Promise((r) => setTimeout(r, 50));
      done = (await cp.webhooks.get(run.id).catch(() => undefined)) ?? done;
    }
    expect(done.status).toBe('succeeded');
    expect(receiver.requests.length).toBeGreaterThanOrEqual(2);
    // Every call was the same call: receivers de-duplicate on it.
    expect(new Set(receiver.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([done.callId]));
  }, 30_000);
});
