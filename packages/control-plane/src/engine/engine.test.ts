import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../store/index.js';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '../store/test-stores.js';
import type { WebhookInvocation, WebhookRun, WebhookService } from '../webhooks/types.js';
import { createEngine, type Engine } from './engine.js';

/**
 * The real webhook service has its own tests; here a small in-memory one implementing the same
 * interface lets the engine's rules be tested without HTTP (the e2e tests use the real one).
 */
function fakeWebhooks(): WebhookService & {
  runs: WebhookRun[];
  settle(location: string, success: boolean): void;
} {
  const runs: WebhookRun[] = [];
  const listeners: Array<(r: WebhookRun) => void> = [];
  const settle = (run: WebhookRun, status: WebhookRun['status'], reason?: string) => {
    if (run.settledAt) return;
    Object.assign(run, { status, settledAt: Date.now(), ...(reason ? { reason } : {}) });
    for (const l of listeners) l(run);
  };
  return {
    runs,
    async start(inv: WebhookInvocation) {
      const found = runs.find(
        (r) =>
          r.deploymentId === inv.deploymentId &&
          r.environment === inv.environment &&
          r.location === inv.location,
      );
      if (found) return found;
      const run: WebhookRun = {
        id: `run-${runs.length}`,
        deploymentId: inv.deploymentId,
        environment: inv.environment,
        location: inv.location,
        webhookName: inv.webhook.name,
        status: 'awaiting_callback',
        callId: `call-${runs.length}`,
        attempts: [],
        deadlineAt: Date.now() + 60_000,
        createdAt: Date.now(),
      };
      runs.push(run);
      return run;
    },
    async cancel(id, reason) {
      const run = runs.find((r) => r.id === id);
      if (run) settle(run, 'cancelled', reason);
    },
    get: async (id) => runs.find((r) => r.id === id),
    find: async (d, e, l) =>
      runs.find((r) => r.deploymentId === d && r.environment === e && r.location === l),
    listForDeployment: async (d) => runs.filter((r) => r.deploymentId === d),
    resume: async () => undefined,
    adopt: async () => undefined,
    onSettled: (l) => void listeners.push(l),
    close: async () => undefined,
    settle(location, success) {
      const run = runs.find((r) => r.location === location && !r.settledAt);
      if (run) settle(run, success ? 'succeeded' : 'failed', success ? undefined : 'callback: failure');
    },
  };
}

describe.each(TEST_BACKENDS)('engine on $kind', ({ kind }) => {
  const stores: Store[] = [];
  const engines: Engine[] = [];
  let database: TestDatabase | undefined;
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close();
    for (const s of stores.splice(0)) await s.close();
    await database?.dispose();
    database = undefined;
  });

  /** An engine (a replica) on the test database; several share it as replicas would. */
  async function replica(options: { replicaId?: string; leaseMs?: number } = {}) {
    database ??= await createTestDatabase(kind);
    const store = await createStore({ databaseUrl: database.databaseUrl });
    stores.push(store);
    const webhooks = fakeWebhooks();
    const engine = createEngine({ store, webhooks, logger: pino({ level: 'silent' }), ...options });
    engines.push(engine);
    return { webhooks, engine, store };
  }

  const setup = () => replica();

  async function until(fn: () => Promise<boolean>, timeoutMs = 5_000) {
    const end = Date.now() + timeoutMs;
    while (!(await fn())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('an approval that expires cancels the deployment and its running webhook', async () => {
    const { webhooks, engine } = await setup();
    const { deploymentId } = await engine.start({
      createdBy: 'test',
      deployFile: `application: expiry
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  prod:
    constraints:
      beforeDeployment:
        - pause:
            untilApproved: true
            approvalExpiration:
              duration: 1
              unit: seconds
        - runWebhook:
            name: hook
webhooks:
  - name: hook
    method: POST
    uriTemplate: https://example.com/hook
`,
    });
    await until(async () => (await engine.get(deploymentId))?.status === 'CANCELLED');
    const view = (await engine.get(deploymentId))!;
    expect(view.message).toContain('approval in prod expired');
    expect(webhooks.runs[0]?.status).toBe('cancelled');
  });

  it('a webhook failing while an approval waits settles the list at once; the approval is then refused', async () => {
    const { webhooks, engine } = await setup();
    const { deploymentId } = await engine.start({
      createdBy: 'test',
      deployFile: `application: parallel
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  prod:
    constraints:
      beforeDeployment:
        - pause:
            untilApproved: true
        - runWebhook:
            name: hook
webhooks:
  - name: hook
    method: POST
    uriTemplate: https://example.com/hook
`,
    });
    await until(
      async () =>
        webhooks.runs.length === 1 && (await engine.get(deploymentId))?.status === 'AWAITING_APPROVAL',
    );
    webhooks.settle('constraints.beforeDeployment[1]', false);
    await until(async () => (await engine.get(deploymentId))?.status === 'FAILED');
    await expect(
      engine.decide(deploymentId, { action: 'approve', environment: 'prod', who: 'alice' }),
    ).rejects.toMatchObject({
      code: 'BRL_ERR_DECISION_CONFLICT',
    });
  });

  it('a deployment whose driver stopped is taken over by another replica, which applies decisions', async () => {
    const a = await replica({ replicaId: 'replica-a', leaseMs: 1_000 });
    const b = await replica({ replicaId: 'replica-b', leaseMs: 1_000 });
    await b.engine.resume();
    const { deploymentId } = await a.engine.start({
      createdBy: 'test',
      deployFile: `application: takeover
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  prod:
    constraints:
      beforeDeployment:
        - pause:
            untilApproved: true
`,
    });
    await until(async () => (await a.engine.get(deploymentId))?.status === 'AWAITING_APPROVAL');
    // B may not decide while A holds the lease (no peers to ask here).
    await expect(
      b.engine.decide(deploymentId, { action: 'approve', environment: 'prod', who: 'bob' }),
    ).rejects.toMatchObject({ code: 'BRL_ERR_DEPLOYMENT_NOT_DRIVEN' });
    await a.engine.close();
    engines.splice(engines.indexOf(a.engine), 1);
    // B looks for orphaned deployments every third of its lease time.
    await until(async () => {
      const row = await b.store.db
        .selectFrom('deployments')
        .select('lease_owner')
        .where('id', '=', deploymentId)
        .executeTakeFirst();
      return row?.lease_owner === 'replica-b';
    });
    await b.engine.decide(deploymentId, { action: 'approve', environment: 'prod', who: 'bob' });
    await until(async () => (await b.engine.get(deploymentId))?.status === 'SUCCEEDED');
  });
});
