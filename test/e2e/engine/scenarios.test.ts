import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawDatabase } from '../../../packages/control-plane/src/store/raw-database.test-util.js';
import { deployFileHead } from '../../kit/deploy-file.js';
import { until } from '../../kit/until.js';
import { env, type HookServer, startHookServer, startPlane, type TestPlane, webhook } from './support.js';

/** The product page's scenarios, as written, against the real control plane and real receivers. */
let plane: TestPlane;
let hooks: HookServer;
/** A real metrics endpoint (a `web` metric provider): CPU 5 under /healthy, 20000 under /failing. */
let metrics: Server;
const metricCalls: string[] = [];

beforeAll(async () => {
  hooks = await startHookServer();
  metrics = createServer((req, res) => {
    metricCalls.push(req.url ?? '');
    const value = req.url?.startsWith('/failing/') ? 20000 : 5;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value }));
  });
  await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}`;
  plane = await startPlane();
  for (const [name, path] of [
    ['healthy', 'healthy'],
    ['always-fails', 'failing'],
  ]) {
    const put = await plane.api('PUT', `/api/v1/metric-providers/${name}`, {
      type: 'web',
      baseUrl: `${base}/${path}`,
      jsonPath: '$.value',
    });
    expect(put.status).toBe(201);
  }
});
afterAll(async () => {
  await plane?.close();
  await hooks?.close();
  metrics?.closeAllConnections();
  await new Promise<void>((r) => metrics?.close(() => r()));
});

async function start(yaml: string): Promise<string> {
  const { status, json } = await plane.api<{ deploymentId: string; error?: unknown }>(
    'POST',
    '/api/v1/deployments',
    yaml,
    'application/yaml',
  );
  expect(status, JSON.stringify(json)).toBe(202);
  return json.deploymentId;
}

const target = (name: string, body = '') => `  ${name}:
    account: ${name}-cluster
    namespace: myApp-${name}
${body}`;

/** A deploy file up to its blue/green `redirectTrafficAfter:` list (prod, strategy myBlueGreen). */
function blueGreenHead(application: string): string {
  return `application: ${application}
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
${target('prod', '    strategy: myBlueGreen\n')}strategies:
  myBlueGreen:
    blueGreen:
      activeService: myApp-external
      previewService: myApp-preview
      redirectTrafficAfter:
`;
}

/** The `strategies` section: canary `rolling-canary`, one step to weight 50. */
const ROLLING_CANARY = `strategies:
  rolling-canary:
    canary:
      steps:
        - setWeight:
            weight: 50
`;

describe('beforeDeployment', () => {
  const file = (app: string, mode: 'ok' | 'fail') => `version: v1
kind: kubernetes
application: ${app}
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
${target(
  'dev',
  `    strategy: rolling-canary
    constraints:
      beforeDeployment:
        - runWebhook:
            name: Update-Database-Schema
`,
)}${ROLLING_CANARY}webhooks:
${webhook('Update-Database-Schema', hooks.url, mode)}`;

  it('proceeds when the callback says success: true', async () => {
    const id = await start(file('before-ok', 'ok'));
    const d = await plane.waitForStatus(id, ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'CANCELLED']);
    expect(d.status).toBe('SUCCEEDED');
    const dev = env(d, 'dev');
    expect(dev.status).toBe('SUCCEEDED');
    expect(dev.webhookRuns).toMatchObject([
      { location: 'constraints.beforeDeployment[0]', status: 'succeeded' },
    ]);
    expect(dev.target?.versions).toEqual([
      expect.objectContaining({ weight: 100, role: 'active', deploymentId: id }),
    ]);
    expect(d.driver).toBe('simulated');
  });

  it('does not deploy when the callback says success: false', async () => {
    const id = await start(file('before-fail', 'fail'));
    const d = await plane.waitForStatus(id, ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'CANCELLED']);
    expect(d.status).toBe('FAILED');
    const dev = env(d, 'dev');
    expect(dev.status).toBe('FAILED');
    expect(dev.message).toContain('was not deployed');
    expect(dev.message).toContain('it broke');
    expect(dev.target).toBeNull();
    expect(dev.steps.find((s) => s.location === 'rollout.deploy')?.status).toBe('pending');
  });
});

describe('afterDeployment', () => {
  it('a failure on staging cancels prod and leaves staging deployed', async () => {
    const id = await start(`application: after-fail
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
${target(
  'staging',
  `    strategy: rolling-canary
    constraints:
      afterDeployment:
        - runWebhook:
            name: Run-Integration-Tests
            context:
              environment: staging
`,
)}${target(
  'prod',
  `    strategy: rolling-canary
    constraints:
      dependsOn: ["staging"]
`,
)}${ROLLING_CANARY}webhooks:
${webhook('Run-Integration-Tests', hooks.url, 'fail')}`);
    const d = await plane.waitForStatus(id, ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'CANCELLED']);
    expect(d.status).toBe('FAILED');
    const staging = env(d, 'staging');
    expect(staging.status).toBe('FAILED');
    expect(staging.message).toContain('NOT rolled back');
    expect(staging.target?.versions).toEqual([expect.objectContaining({ weight: 100, deploymentId: id })]);
    const prod = env(d, 'prod');
    expect(prod.status).toBe('CANCELLED');
    expect(prod.startedAt).toBeNull();
    expect(prod.target).toBeNull();
  });
});

describe('a manual approval and a failing webhook', () => {
  it('in beforeDeployment: the failure settles the list without waiting for the approval', async () => {
    const id = await start(`application: approval-before
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
${target(
  'prod',
  `    constraints:
      beforeDeployment:
        - pause:
            untilApproved: true
        - runWebhook:
            name: Update-Database-Schema
`,
)}webhooks:
${webhook('Update-Database-Schema', hooks.url, 'fail')}`);
    const d = await plane.waitForStatus(id, ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'CANCELLED']);
    expect(d.status).toBe('FAILED');
    const prod = env(d, 'prod');
    expect(prod.steps[0]).toMatchObject({ step: 'pause until approved', status: 'cancelled' });
    expect(prod.target).toBeNull();
    const late = await plane.api<{ error: { code: string; message: string } }>(
      'POST',
      `/api/v1/deployments/${id}/approve`,
      { environment: 'prod' },
    );
    expect(late.status).toBe(409);
    expect(late.json.error.code).toBe('BRL_ERR_DECISION_CONFLICT');
    expect(late.json.error.message).toContain('ended FAILED');
  });

  it('in blue/green redirectTrafficAfter: rolls back without the approval', async () => {
    const id = await start(`${blueGreenHead('approval-bg')}        - pause:
            untilApproved: true
        - runWebhook:
            name: security-scan
webhooks:
${webhook('security-scan', hooks.url, 'fail')}`);
    const d = await plane.waitForStatus(id, ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'CANCELLED']);
    expect(d.status).toBe('ROLLED_BACK');
    const prod = env(d, 'prod');
    expect(prod.status).toBe('ROLLED_BACK');
    expect(prod.message).toContain('rolled back automatically');
    expect(prod.steps.find((s) => s.step === 'pause until approved')?.status).toBe('cancelled');
    expect(prod.target?.versions ?? []).toEqual([]);
  });
});

describe('blue/green with security-scan and an analysis in parallel', () => {
  const file = (
    app: string,
    scan: 'ok' | 'hold',
    provider = 'healthy',
  ) => `${blueGreenHead(app)}        - analysis:
            metricProviderName: ${provider}
            interval: 1
            units: seconds
            numberOfJudgmentRuns: 1
            rollBackMode: manual
            rollForwardMode: automatic
            queries:
              - avgCPUUsage-pass
        - runWebhook:
            name: security-scan
analysis:
  queries:
    - name: avgCPUUsage-pass
      upperLimit: 10000
      lowerLimit: 0
      queryTemplate: /avgCPUUsage?app={{armory.applicationName}}&window={{armory.promQlStepInterval}}
webhooks:
${webhook('security-scan', hooks.url, scan)}`;

  it('both succeed (the analysis measured CPU 5, within its limits), then traffic moves', async () => {
    const id = await start(file('bg-ok', 'ok'));
    const d = await plane.waitForStatus(id, [
      'SUCCEEDED',
      'FAILED',
      'ROLLED_BACK',
      'CANCELLED',
      'AWAITING_APPROVAL',
    ]);
    expect(d.status).toBe('SUCCEEDED');
    const prod = env(d, 'prod');
    const analysis = prod.steps.find((s) => s.location === 'strategy.redirectTrafficAfter[0]');
    // The issue removed the skip-as-passed path: the analysis now passes only on a measurement.
    expect(analysis).toMatchObject({ status: 'succeeded' });
    expect(analysis?.message).toContain('analysis passed 1 of 1 judgment(s)');
    expect(metricCalls).toContain('/healthy/avgCPUUsage?app=bg-ok&window=1s');
    expect(prod.steps.find((s) => s.location === 'rollout.moveTraffic')?.status).toBe('succeeded');
    expect(prod.target?.versions).toEqual([
      expect.objectContaining({ weight: 100, role: 'active', deploymentId: id }),
    ]);
  });

  it('a failed analysis with rollBackMode manual waits for a person, who rolls back', async () => {
    const id = await start(file('bg-manual', 'ok', 'always-fails'));
    const waiting = await plane.waitForStatus(id, [
      'AWAITING_APPROVAL',
      'SUCCEEDED',
      'FAILED',
      'ROLLED_BACK',
    ]);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    const step = env(waiting, 'prod').steps.find((s) => s.location === 'strategy.redirectTrafficAfter[0]');
    expect(step?.message).toContain('avgCPUUsage-pass = 20000, above upperLimit 10000');
    expect(step?.awaiting?.commands).toContain(`borealis deploy rollback ${id} --env prod`);
    // The first version of an environment is alone beside nothing: a preview that takes what traffic there is.
    expect(env(waiting, 'prod').target?.versions.find((v) => v.deploymentId === id)).toMatchObject({
      role: 'preview',
    });
    const approve = await plane.api('POST', `/api/v1/deployments/${id}/approve`, { env: 'prod' });
    expect(approve.status).toBe(409);
    const rb = await plane.api('POST', `/api/v1/deployments/${id}/rollback`, { environment: 'prod' });
    expect(rb.status).toBe(200);
    const d = await plane.waitForStatus(id, ['ROLLED_BACK', 'SUCCEEDED', 'FAILED', 'CANCELLED']);
    expect(d.status).toBe('ROLLED_BACK');
    expect(env(d, 'prod').message).toContain('rolled back by');
  });

  it('roll-forward after a failed manual analysis moves traffic once the scan passes too', async () => {
    const id = await start(file('bg-forward', 'hold', 'always-fails'));
    await plane.waitForStatus(id, ['AWAITING_APPROVAL']);
    const fwd = await plane.api('POST', `/api/v1/deployments/${id}/roll-forward`, { environment: 'prod' });
    expect(fwd.status).toBe(200);
    const mid = await plane.waitForStatus(id, ['RUNNING']);
    expect(env(mid, 'prod').steps.find((s) => s.location === 'rollout.moveTraffic')?.status).toBe('pending');
    await until(() => hooks.held.get('security-scan')?.length);
    expect(await hooks.callBack('security-scan', true)).toBe(200);
    const d = await plane.waitForStatus(id, ['SUCCEEDED', 'ROLLED_BACK', 'FAILED', 'CANCELLED']);
    expect(d.status).toBe('SUCCEEDED');
  });
});

describe('canary with setWeight then runWebhook', () => {
  const file = (app: string) => `application: ${app}
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
${target(
  'staging',
  `    strategy: canary-rolling
`,
)}strategies:
  canary-rolling:
    canary:
      steps:
        - setWeight:
            weight: 25
        - runWebhook:
            name: system-health
            context:
              environment: staging
webhooks:
${webhook('system-health', hooks.url, 'hold')}`;

  it('holds 25% while the webhook runs, then takes all traffic on success', async () => {
    const id = await start(file('canary-app'));
    await until(() => hooks.held.get('system-health')?.length);
    const mid = await plane.waitForStatus(id, ['RUNNING']);
    const staging = env(mid, 'staging');
    expect(staging.steps.map((s) => [s.location, s.status])).toEqual([
      ['rollout.deploy', 'succeeded'],
      ['strategy.steps[0]', 'succeeded'],
      ['strategy.steps[1]', 'running'],
      ['rollout.promote', 'pending'],
      ['rollout.shutDownOld', 'pending'],
    ]);
    expect(staging.target?.versions.find((v) => v.deploymentId === id)?.weight).toBe(100); // first version: alone
    expect(await hooks.callBack('system-health', true)).toBe(200);
    const d = await plane.waitForStatus(id, ['SUCCEEDED', 'ROLLED_BACK', 'FAILED', 'CANCELLED']);
    expect(d.status).toBe('SUCCEEDED');

    // A second version: 25% beside the first; the health check fails; traffic goes back.
    const id2 = await start(file('canary-app'));
    await until(() => hooks.held.get('system-health')?.length);
    const mid2 = await plane.waitForStatus(id2, ['RUNNING']);
    const weights = Object.fromEntries(
      env(mid2, 'staging').target!.versions.map((v) => [v.deploymentId, v.weight]),
    );
    expect(weights).toEqual({ [id]: 75, [id2]: 25 });
    expect(await hooks.callBack('system-health', false, 'error rate 12%')).toBe(200);
    const d2 = await plane.waitForStatus(id2, ['SUCCEEDED', 'ROLLED_BACK', 'FAILED', 'CANCELLED']);
    expect(d2.status).toBe('ROLLED_BACK');
    expect(env(d2, 'staging').message).toContain('error rate 12%');
    expect(env(d2, 'staging').target?.versions).toEqual([
      expect.objectContaining({ deploymentId: id, weight: 100 }),
    ]);
  });
});

describe('the API contract', () => {
  it('a bad file is 400 with line and column, and stores nothing', async () => {
    const before = await plane.api<{ deployments: unknown[] }>('GET', '/api/v1/deployments?limit=1000');
    const bad = await plane.api<{
      error: { code: string; diagnostics: Array<{ line: number; column: number }> };
    }>('POST', '/api/v1/deployments', {
      deployFile:
        'application: x\nmanifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]\ntargets:\n  dev:\n    strategy: nope\n',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('BRL_ERR_DEPLOY_FILE_INVALID');
    expect(bad.json.error.diagnostics[0]).toMatchObject({
      line: expect.any(Number),
      column: expect.any(Number),
    });
    const after = await plane.api<{ deployments: unknown[] }>('GET', '/api/v1/deployments?limit=1000');
    expect(after.json.deployments.length).toBe(before.json.deployments.length);
  });

  it('one deployment per application: a second start is 409 naming the running one; enqueueOne queues', async () => {
    const file = (queue: boolean) => `application: busy-app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
${queue ? 'deploymentConfig:\n  ifDeploymentInProgress:\n    strategy: enqueueOne\n' : ''}targets:
  dev:
    constraints:
      beforeDeployment:
        - pause:
            untilApproved: true
`;
    const first = await start(file(false));
    await plane.waitForStatus(first, ['AWAITING_APPROVAL']);
    const second = await plane.api<{ error: { code: string; message: string } }>(
      'POST',
      '/api/v1/deployments',
      file(false),
      'text/yaml',
    );
    expect(second.status).toBe(409);
    expect(second.json.error.message).toContain(first);
    const queued = await plane.api<{ deploymentId: string; status: string }>('POST', '/api/v1/deployments', {
      deployFile: file(true),
    });
    expect(queued.json.status).toBe('QUEUED');
    const ok = await plane.api('POST', `/api/v1/deployments/${first}/approve`, { environment: 'dev' });
    expect(ok.status).toBe(200);
    await plane.waitForStatus(first, ['SUCCEEDED']);
    await plane.waitForStatus(queued.json.deploymentId, ['AWAITING_APPROVAL']);
    const cancel = await plane.api('POST', `/api/v1/deployments/${queued.json.deploymentId}/cancel`, {});
    expect(cancel.status).toBe(200);
    await plane.waitForStatus(queued.json.deploymentId, ['CANCELLED']);
    const audit = await rawDatabase(plane.cp.store)
      .selectFrom('audit_log')
      .selectAll()
      .where('deployment_id', '=', first)
      .execute();
    expect(audit.map((a) => [a.action, a.who])).toEqual([
      ['start', 'env'],
      ['approve', 'env'],
    ]);
  });

  it('streams every transition as server-sent events, replaying from Last-Event-ID, and ends when final', async () => {
    const id = await start(`${deployFileHead('sse-app', { target: 'dev' })}        - pause:
            duration: 1
            unit: seconds
`);
    const res = await fetch(`${plane.cp.url}/api/v1/deployments/${id}/events`, {
      headers: { authorization: `Bearer ${'engine-e2e-token-0123456789'}` },
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text(); // ends when the deployment is final
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(text).toContain('event: deployment.finished');
    const replay = await fetch(`${plane.cp.url}/api/v1/deployments/${id}/events`, {
      headers: {
        authorization: 'Bearer engine-e2e-token-0123456789',
        'last-event-id': String(ids.length - 1),
      },
    });
    const rest = await replay.text();
    expect([...rest.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual([ids.length]);
  });
});
