import { type DeploymentSpec, parseDeployFile } from '@borealis/deploy-spec';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../store/index.js';
import { rawDatabase } from '../store/raw-database.test-util.js';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '../store/test-stores.test-util.js';
import type { WebhookInvocation, WebhookRun, WebhookService } from '../webhooks/types.js';
import type { EnginePeers } from './decision-router.js';
import { createEngine, type Engine } from './engine.js';

/** Starts `application` (one ConfigMap manifest, then the rest of the deploy file) as user `test`. */
/** The deploy file's targets up to prod's `beforeDeployment` list; callers append its steps. */
const BEFORE_PROD = 'targets:\n  prod:\n    constraints:\n      beforeDeployment:\n';

/** …whose first step is a manual approval; callers append its fields or the next steps. */
const APPROVAL_FIRST = `${BEFORE_PROD}        - pause:\n            untilApproved: true\n`;

function startApp(engine: Engine, application: string, rest: string) {
  const manifests =
    'manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]';
  return engine.start({
    createdBy: 'test',
    spec: specOf(`application: ${application}\n${manifests}\n${rest}`),
  });
}

/** The deploy file parsed as the API does before it starts a deployment. */
function specOf(deployFile: string): DeploymentSpec {
  const parsed = parseDeployFile(deployFile);
  if (!parsed.spec) throw new Error(JSON.stringify(parsed.diagnostics));
  return parsed.spec;
}

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
    adoptMany: async (ids) => runs.filter((r) => ids.includes(r.deploymentId)),
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
  async function replica(options: { replicaId?: string; leaseMs?: number; peers?: EnginePeers } = {}) {
    database ??= await createTestDatabase(kind);
    const store = await createStore({ databaseUrl: database.databaseUrl });
    stores.push(store);
    const webhooks = fakeWebhooks();
    const engine = createEngine({
      store,
      webhooks,
      logger: pino({ level: 'silent' }),
      replicaId: 'test-replica',
      leaseMs: 30_000,
      ...options,
    });
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

  // Issue 10 changed this: an expired approval used to cancel the whole deployment; now it fails
  // the pause like any failed constraint, with when it expired, and the list's rules apply.
  it('an approval that expires fails its constraint (saying when), stopping the running webhook', async () => {
    const { webhooks, engine } = await setup();
    const { deploymentId } = await startApp(
      engine,
      'expiry',
      `${APPROVAL_FIRST}            approvalExpiration:
              duration: 1
              unit: seconds
        - runWebhook:
            name: hook
webhooks:
  - name: hook
    method: POST
    uriTemplate: https://example.com/hook
`,
    );
    await until(async () => (await engine.get(deploymentId))?.status === 'FAILED');
    const view = (await engine.get(deploymentId))!;
    const prod = view.environments[0]!;
    const pause = prod.steps.find((s) => s.location === 'constraints.beforeDeployment[0]')!;
    expect(pause.status).toBe('failed');
    expect(pause.message).toMatch(
      /^the approval expired at \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \(approvalExpiration: 1 seconds\) before anyone approved/,
    );
    const expiredAt = Date.parse(/expired at (\S+)/.exec(pause.message!)![1]!);
    expect(expiredAt - Date.parse(pause.startedAt!)).toBe(1000);
    expect(prod.status).toBe('FAILED');
    expect(prod.message).toContain(
      'beforeDeployment failed at constraints.beforeDeployment[0]: the approval expired',
    );
    expect(prod.message).toContain('was not deployed');
    expect(webhooks.runs[0]?.status).toBe('cancelled');
  });

  it('an approval that expires during a canary rollout rolls it back, even across a restart', async () => {
    const a = await replica({ replicaId: 'replica-x' });
    const { deploymentId } = await startApp(
      a.engine,
      'expiry-canary',
      `targets:
  prod:
    strategy: canary
strategies:
  canary:
    canary:
      steps:
        - setWeight:
            weight: 20
        - pause:
            untilApproved: true
            approvalExpiration:
              duration: 2
              unit: seconds
`,
    );
    await until(async () => (await a.engine.get(deploymentId))?.status === 'AWAITING_APPROVAL');
    const deadline = (await a.engine.get(deploymentId))!.environments[0]!.steps.find(
      (s) => s.status === 'waiting',
    )!.deadlineAt!;
    // The driver stops while the approval waits; the deadline is in the store, not a timer.
    await a.engine.close();
    engines.splice(engines.indexOf(a.engine), 1);
    while (Date.now() <= Date.parse(deadline)) await new Promise((r) => setTimeout(r, 50));
    const b = await replica({ replicaId: 'replica-x' });
    await b.engine.resume();
    await until(async () => (await b.engine.get(deploymentId))?.status === 'ROLLED_BACK');
    const prod = (await b.engine.get(deploymentId))!.environments[0]!;
    expect(prod.message).toContain(`the approval expired at ${deadline}`);
    expect(prod.message).toContain('rolled back');
  });

  it("approve and reject check the pause's requiresRoles; admin may approve anything; the audit says who and why", async () => {
    const { engine } = await setup();
    const { deploymentId } = await startApp(
      engine,
      'roles',
      `targets:
  staging:
    constraints:
      beforeDeployment:
        - pause:
            untilApproved: true
  prod:
    constraints:
      dependsOn: [staging]
      beforeDeployment:
        - pause:
            untilApproved: true
            requiresRoles: [prod-approvers]
`,
    );
    await until(async () => (await engine.get(deploymentId))?.status === 'AWAITING_APPROVAL');
    // No roles named: a viewer or a mere approver of something else may not; a deployer may.
    for (const roles of [['viewer'], ['prod-approvers'], []]) {
      await expect(
        engine.decide(deploymentId, { action: 'approve', environment: 'staging', who: 'v', roles }),
      ).rejects.toMatchObject({
        code: 'BRL_ERR_FORBIDDEN',
        details: { requiredRoles: ['deployer', 'admin'] },
      });
    }
    await engine.decide(deploymentId, {
      action: 'approve',
      environment: 'staging',
      who: 'dan',
      roles: ['deployer'],
    });
    await until(async () => {
      const v = await engine.get(deploymentId);
      return v?.environments.find((e) => e.name === 'prod')?.status === 'AWAITING_APPROVAL';
    });
    for (const action of ['approve', 'reject'] as const) {
      const err = await engine
        .decide(deploymentId, { action, environment: 'prod', who: 'dan', roles: ['deployer', 'viewer'] })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'BRL_ERR_FORBIDDEN',
        status: 403,
        details: { requiredRoles: ['prod-approvers', 'admin'], roles: ['deployer', 'viewer'] },
      });
      expect((err as Error).message).toContain('prod-approvers');
    }
    await engine.decide(deploymentId, {
      action: 'approve',
      environment: 'prod',
      who: 'paula',
      roles: ['prod-approvers'],
      reason: 'change ticket CHG-42',
      source: '10.9.8.7',
      tokenId: 'token-paula',
    });
    await until(async () => (await engine.get(deploymentId))?.status === 'SUCCEEDED');
    const view = (await engine.get(deploymentId))!;
    const prodPause = view.environments.find((e) => e.name === 'prod')!.steps[0]!;
    expect(prodPause).toMatchObject({
      decidedBy: 'paula',
      message: 'approved by paula: change ticket CHG-42',
    });
    expect(view.audit.map((e) => [e.action, e.actor, e.environment])).toEqual([
      ['start', 'test', null],
      ['approve', 'dan', 'staging'],
      ['approve', 'paula', 'prod'],
    ]);
    expect(view.audit[2]).toMatchObject({
      reason: 'change ticket CHG-42',
      source: '10.9.8.7',
      tokenId: 'token-paula',
      deploymentId,
      details: { location: 'constraints.beforeDeployment[0]' },
    });
  });

  it('a webhook failing while an approval waits settles the list at once; the approval is then refused', async () => {
    const { webhooks, engine } = await setup();
    const { deploymentId } = await startApp(
      engine,
      'parallel',
      `${APPROVAL_FIRST}        - runWebhook:
            name: hook
webhooks:
  - name: hook
    method: POST
    uriTemplate: https://example.com/hook
`,
    );
    await until(
      async () =>
        webhooks.runs.length === 1 && (await engine.get(deploymentId))?.status === 'AWAITING_APPROVAL',
    );
    webhooks.settle('constraints.beforeDeployment[1]', false);
    await until(async () => (await engine.get(deploymentId))?.status === 'FAILED');
    await expect(
      engine.decide(deploymentId, { action: 'approve', environment: 'prod', who: 'alice', roles: ['admin'] }),
    ).rejects.toMatchObject({
      code: 'BRL_ERR_DECISION_CONFLICT',
    });
  });

  it('a live replica holds its deployments past their claim-time lease; a decision at another replica goes to it', async () => {
    const a = await replica({ replicaId: 'replica-a', leaseMs: 1_500 });
    const asked: string[] = [];
    const b = await replica({
      replicaId: 'replica-b',
      leaseMs: 1_500,
      // The cluster's peers, in-process: B asks the replica that drives the deployment.
      peers: {
        decide: (owner, id, decision) => {
          asked.push(owner);
          return a.engine.decide(id, decision);
        },
      },
    });
    await b.engine.resume();
    const { deploymentId } = await startApp(a.engine, 'held', `${APPROVAL_FIRST}`);
    await until(async () => (await a.engine.get(deploymentId))?.status === 'AWAITING_APPROVAL');
    // Two lease times: the row's own expiry has passed, A's replica lease (renewed every 500 ms,
    // a second of slack for a late timer on a busy machine) has not, and B, looking for orphaned
    // deployments every 500 ms, has not taken it.
    await new Promise((r) => setTimeout(r, 3_000));
    const row = await rawDatabase(b.store)
      .selectFrom('deployments')
      .select(['lease_owner', 'lease_expires_at'])
      .where('id', '=', deploymentId)
      .executeTakeFirstOrThrow();
    expect(row.lease_owner).toBe('replica-a');
    expect(Number(row.lease_expires_at)).toBeLessThan(Date.now() - 1_000);
    await b.engine.decide(deploymentId, {
      action: 'approve',
      environment: 'prod',
      who: 'bob',
      roles: ['admin'],
    });
    expect(asked).toEqual(['replica-a']);
    await until(async () => (await a.engine.get(deploymentId))?.status === 'SUCCEEDED');
  });

  it('a deployment whose driver stopped is taken over by another replica, which applies decisions', async () => {
    const a = await replica({ replicaId: 'replica-a', leaseMs: 1_000 });
    const b = await replica({ replicaId: 'replica-b', leaseMs: 1_000 });
    await b.engine.resume();
    const { deploymentId } = await startApp(a.engine, 'takeover', `${APPROVAL_FIRST}`);
    await until(async () => (await a.engine.get(deploymentId))?.status === 'AWAITING_APPROVAL');
    // B may not decide while A holds the lease (no peers to ask here).
    await expect(
      b.engine.decide(deploymentId, { action: 'approve', environment: 'prod', who: 'bob', roles: ['admin'] }),
    ).rejects.toMatchObject({ code: 'BRL_ERR_DEPLOYMENT_NOT_DRIVEN' });
    await a.engine.close();
    engines.splice(engines.indexOf(a.engine), 1);
    // B looks for orphaned deployments every third of its lease time.
    await until(async () => {
      const row = await rawDatabase(b.store)
        .selectFrom('deployments')
        .select('lease_owner')
        .where('id', '=', deploymentId)
        .executeTakeFirst();
      return row?.lease_owner === 'replica-b';
    });
    await b.engine.decide(deploymentId, {
      action: 'approve',
      environment: 'prod',
      who: 'bob',
      roles: ['admin'],
    });
    await until(async () => (await b.engine.get(deploymentId))?.status === 'SUCCEEDED');
  });
});
