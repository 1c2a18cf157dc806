import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test/kit/free-port.mjs';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '../../../../test/kit/store.js';
import type { ControlPlane } from '../server.js';
import * as wh from './receivers.test-util.js';

/**
 * Deadlines are stored timestamps: a control plane stopped and started again (same data
 * directory) still fails a run whose callback never came, and re-drives calls it had pending.
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.each(TEST_BACKENDS)('on $kind', ({ kind }) => {
  async function controlPlane(database: TestDatabase, callbackTimeoutMs: number): Promise<ControlPlane> {
    const started = await wh.startWebhookTestControlPlane({
      dataDir: database.dir,
      databaseUrl: database.databaseUrl,
      callbackTimeoutMs,
    });
    cleanups.push(() => started.close());
    return started.cp;
  }

  /** A fresh database (and data directory) that a control plane and its restart share. */
  async function tempDir(): Promise<TestDatabase> {
    const database = await createTestDatabase(kind);
    cleanups.push(() => database.dispose());
    return database;
  }

  /** A run awaiting its callback (from a receiver that never calls back), then the control plane stopped. */
  async function awaitingRunThenStop(database: TestDatabase, callbackTimeoutMs: number) {
    const first = await controlPlane(database, callbackTimeoutMs);
    const r = await silentReceiver();
    const run = await first.webhooks.start(wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`)));
    await wh.waitForRun(first.webhooks, run.id, (x) => x.status === 'awaiting_callback');
    await first.close();
    return run;
  }

  async function silentReceiver(port?: number, withCallback = false): Promise<wh.Receiver> {
    const r = await wh.startReceiver({
      ...(port ? { port } : {}),
      ...(withCallback ? { callback: { success: true } } : {}),
    });
    cleanups.push(() => r.close());
    return r;
  }

  describe('callback deadline', () => {
    it('fails a run whose callback never comes, at its deadline', async () => {
      const cp = await controlPlane(await tempDir(), 800);
      const r = await silentReceiver();
      const run = await cp.webhooks.start(wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`)));
      await wh.waitForRun(cp.webhooks, run.id, (x) => x.status === 'awaiting_callback');
      const done = await wh.waitForRun(cp.webhooks, run.id);
      expect(done).toMatchObject({
        status: 'failed',
        reason: 'no callback within 800ms (BOREALIS_CALLBACK_TIMEOUT)',
        reasonCode: 'BRL_ERR_WEBHOOK_CALLBACK_TIMEOUT',
      });
      expect(done.settledAt).toBeGreaterThanOrEqual(done.deadlineAt);
    });

    it('fails it at start when the deadline passed while the control plane was stopped', async () => {
      const dir = await tempDir();
      const run = await awaitingRunThenStop(dir, 1000);
      await new Promise((resolve) => setTimeout(resolve, 1200));

      const second = await controlPlane(dir, 1000);
      const done = await second.webhooks.get(run.id);
      expect(done).toMatchObject({ status: 'failed', reasonCode: 'BRL_ERR_WEBHOOK_CALLBACK_TIMEOUT' });
      expect(done?.reason).toContain('BOREALIS_CALLBACK_TIMEOUT');
    });

    it('fails it at its deadline when the control plane restarted before the deadline', async () => {
      const dir = await tempDir();
      const run = await awaitingRunThenStop(dir, 2000);

      const second = await controlPlane(dir, 2000);
      expect((await second.webhooks.get(run.id))?.status).toBe('awaiting_callback');
      const done = await wh.waitForRun(second.webhooks, run.id);
      expect(done).toMatchObject({ status: 'failed', reasonCode: 'BRL_ERR_WEBHOOK_CALLBACK_TIMEOUT' });
      expect(done.settledAt).toBeGreaterThanOrEqual(done.deadlineAt);
    });

    it('re-drives a call that was waiting for its retry, after a restart, with the same webhook-id', async () => {
      const dir = await tempDir();
      const first = await controlPlane(dir, 60_000);
      const port = await freePort();
      const run = await first.webhooks.start(
        wh.invocationFor(wh.githubLikeWebhook(`http://127.0.0.1:${port}/hook`, { retryCount: 5 })),
      );
      const waiting = await wh.waitForRun(first.webhooks, run.id, (x) => x.attempts.length >= 1);
      expect(waiting.status).toBe('pending');
      await first.close();

      const r = await silentReceiver(port, true);
      const second = await controlPlane(dir, 60_000);
      const done = await wh.waitForRun(second.webhooks, run.id, undefined, 20_000);
      expect(done.status).toBe('succeeded');
      expect(done.attempts.at(-1)?.status).toBe(204);
      expect(r.requests[0]?.headers['webhook-id']).toBe(run.callId);
      // The callback URI carries a token issued after the restart, under the new public URL.
      expect(r.requests[0]?.body).toContain(`${second.publicUrl}/callbacks/`);
    }, 30_000);
  });
});
