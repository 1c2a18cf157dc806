import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deployFileHead } from '../../kit/deploy-file.js';
import { fetchJson } from '../../kit/fetch-json.js';
import { freePort } from '../../kit/free-port.mjs';
import { bins, type Proc, startProcess, stopAll, until } from '../support/processes.js';
import { type DeploymentJson, type HookServer, startHookServer, TOKEN, webhook } from './support.js';

/**
 * SIGKILL the real control plane while deployments sit in a timed pause, an approval and a
 * webhook wait; start it again on the same database; all three finish, and no step ran twice.
 */
let hooks: HookServer;
let dataDir: string;
let port: number;
let server: Proc;

const env = () => ({
  BOREALIS_PORT: String(port),
  BOREALIS_PUBLIC_URL: `http://127.0.0.1:${port}`,
  BOREALIS_DATA_DIR: dataDir,
  BOREALIS_API_TOKEN: TOKEN,
  BOREALIS_DIRECT_ALLOW: '127.0.0.1/32',
  BOREALIS_LOG_LEVEL: 'info',
});
const base = () => `http://127.0.0.1:${port}`;

const api = <T = any>(method: string, path: string, body?: unknown, contentType?: string) =>
  fetchJson<T>(base(), TOKEN, method, path, body, contentType);

async function startServer(): Promise<Proc> {
  const p = startProcess(bins.server, { env: env() });
  await p.waitForLog('listening');
  return p;
}

beforeAll(async () => {
  hooks = await startHookServer();
  dataDir = mkdtempSync(join(tmpdir(), 'brl-crash-'));
  port = await freePort();
});
afterAll(async () => {
  await stopAll();
  await hooks?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const status = async (id: string) => (await api<DeploymentJson>('GET', `/api/v1/deployments/${id}`)).json;

it('resumes a timed pause, an approval and a webhook wait after SIGKILL', async () => {
  server = await startServer();
  const files = {
    pause: `${deployFileHead('crash-pause', { target: 'dev' })}        - pause:
            duration: 4
            unit: seconds
`,
    approval: `${deployFileHead('crash-approval', { target: 'dev' })}        - pause:
            untilApproved: true
`,
    webhook: `${deployFileHead('crash-webhook', { target: 'dev' })}        - runWebhook:
            name: crash-hook
webhooks:
${webhook('crash-hook', hooks.url, 'hold')}`,
  };
  const ids: Record<string, string> = {};
  for (const [name, yaml] of Object.entries(files)) {
    const r = await api<{ deploymentId: string }>('POST', '/api/v1/deployments', yaml, 'application/yaml');
    expect(r.status).toBe(202);
    ids[name] = r.json.deploymentId;
  }
  await until(async () => (await status(ids.pause!)).status === 'PAUSED', 'pause');
  await until(async () => (await status(ids.approval!)).status === 'AWAITING_APPROVAL', 'approval');
  await until(() => hooks.held.get('crash-hook')?.length, 'webhook call');
  const pausedAt = (await status(ids.pause!)).environments[0]!;

  server.kill('SIGKILL');
  await server.exited;
  server = await startServer();

  // The pause keeps its stored deadline (it is not restarted) and ends by itself.
  const afterPause = await until(
    async () => {
      const d = await status(ids.pause!);
      return d.status === 'SUCCEEDED' ? d : undefined;
    },
    'pause to finish',
    15_000,
  );
  expect(afterPause.environments[0]!.startedAt).toBe(pausedAt.startedAt);

  const approve = await api('POST', `/api/v1/deployments/${ids.approval}/approve`, { environment: 'dev' });
  expect(approve.status).toBe(200);
  expect(await hooks.callBack('crash-hook', true, 'migrated')).toBe(200);

  for (const id of Object.values(ids)) {
    const d = await until(
      async () => {
        const s = await status(id);
        return s.status === 'SUCCEEDED' ? s : undefined;
      },
      `deployment ${id}`,
      15_000,
    );
    expect(d.environments[0]!.status).toBe('SUCCEEDED');
  }
  // The webhook was called once (a repeat, had its outcome been unknown, would carry the same id).
  const hookCalls = hooks.calls.filter((c) => c.path === '/hold/crash-hook');
  expect(hookCalls.length).toBeGreaterThanOrEqual(1);
  expect(new Set(hookCalls.map((c) => c.headers['webhook-id'])).size).toBe(1);
  const run = (await status(ids.webhook!)).environments[0]!.webhookRuns;
  expect(run).toHaveLength(1);
  expect(run[0]).toMatchObject({ status: 'succeeded', mdMessage: 'migrated' });

  // No step started twice: every location has exactly one item.started event.
  for (const id of Object.values(ids)) {
    const res = await fetch(`${base()}/api/v1/deployments/${id}/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const text = await res.text();
    const started = [...text.matchAll(/^data: (.*)$/gm)]
      .map((m) => JSON.parse(m[1]!) as { type: string; environment?: string; location?: string })
      .filter((e) => e.type === 'item.started')
      .map((e) => `${e.environment}:${e.location}`);
    expect(started.length).toBeGreaterThan(0);
    expect(new Set(started).size).toBe(started.length);
  }
}, 90_000);
