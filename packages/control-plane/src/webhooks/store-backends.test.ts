import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '../../../../test/kit/store.js';
import type { ControlPlane } from '../server.js';
import * as wh from './receivers.test-util.js';

/**
 * The webhook-run repository and the service on both databases: the conditional updates that
 * make a callback, a deadline and a cancel settle a run exactly once must hold on SQLite and on
 * PostgreSQL alike.
 */
describe.each(TEST_BACKENDS)('webhook runs on $kind', ({ kind }) => {
  let database: TestDatabase;
  let cp: ControlPlane;
  let receiver: wh.Receiver;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    cp = (
      await wh.startWebhookTestControlPlane({
        dataDir: database.dir,
        databaseUrl: database.databaseUrl,
        callbackTimeoutMs: 60_000,
      })
    ).cp;
    receiver = await wh.startReceiver({ callback: { success: true } });
  });

  afterAll(async () => {
    await receiver?.close();
    await cp?.close();
    await database?.dispose();
  });

  it('inserts a run once per (deployment, environment, location)', async () => {
    const repo = cp.store.webhookRuns;
    const row = {
      id: `whr_a_${kind}`,
      deployment_id: 'd1',
      environment: 'e',
      location: 'l',
      webhook_name: 'w',
      invocation: '{}',
      status: 'pending',
      call_id: 'msg_1',
      attempt_count: 0,
      next_attempt_at: null,
      attempts: '[]',
      deadline_at: Date.now() + 1000,
      request: null,
      callback: null,
      reason: null,
      reason_code: null,
      created_at: Date.now(),
      updated_at: Date.now(),
      settled_at: null,
    };
    expect(await repo.insertIfAbsent(row)).toMatchObject({ inserted: true, row: { id: row.id } });
    expect(await repo.insertIfAbsent({ ...row, id: `whr_b_${kind}` })).toMatchObject({
      inserted: false,
      row: { id: row.id },
    });
    expect(typeof (await repo.get(row.id))?.deadline_at).toBe('number');

    // Conditional updates: only one of two racing settlements wins.
    expect(await repo.update(row.id, { status: 'succeeded' }, ['pending', 'awaiting_callback'])).toBe(true);
    expect(await repo.update(row.id, { status: 'failed' }, ['pending', 'awaiting_callback'])).toBe(false);
    expect((await repo.get(row.id))?.status).toBe('succeeded');
    expect((await repo.listByStatus(['pending'])).map((r) => r.id)).not.toContain(row.id);

    await repo.addCallbackToken({
      token_hash: 'ab'.repeat(32),
      run_id: row.id,
      attempt: 1,
      created_at: Date.now(),
    });
    expect(await repo.findCallbackToken('ab'.repeat(32))).toMatchObject({ run_id: row.id, attempt: 1 });
    expect(await repo.findCallbackToken('cd'.repeat(32))).toBeUndefined();
  });

  it('runs a webhook to its callback', async () => {
    const run = await cp.webhooks.start(wh.invocationFor(wh.githubLikeWebhook(`${receiver.url}/hook`)));
    const done = await wh.waitForRun(cp.webhooks, run.id);
    expect(done).toMatchObject({ status: 'succeeded', callback: { success: true } });
    expect(done.attempts[0]?.status).toBe(204);
  });
});
