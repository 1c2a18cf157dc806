import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HookServer, startHookServer, webhook } from './engine/support.js';
import { type ServerProc, startServer } from './support/control-plane.js';
import { agentEnv, bins, type Proc, startProcess, stopAll, until } from './support/processes.js';

/**
 * Metrics worth scraping and logs worth reading, from the real programs: a deployment with a
 * webhook that calls back, a call through a real agent, then /metrics on both and the log lines.
 */
let server: ServerProc;
let agent: Proc;
let hooks: HookServer;
let work: string;
let agentPort: number;
let deploymentId: string;

/** `name{labels} value` lines of a Prometheus text answer. */
function samples(text: string): Array<{ name: string; labels: string; value: number }> {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(l);
      if (!m) throw new Error(`not a Prometheus sample line: ${l}`);
      return { name: m[1] as string, labels: m[2] ?? '', value: Number(m[3]) };
    });
}

function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const hits = samples(text).filter((s) => s.name === name && want.every((w) => s.labels.includes(w)));
  if (hits.length === 0)
    throw new Error(`no sample ${name}${JSON.stringify(labels)} in:\n${text.slice(0, 3000)}`);
  return hits.reduce((sum, s) => sum + s.value, 0);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'brl-metrics-'));
  hooks = await startHookServer();
  server = await startServer({ BOREALIS_DIRECT_ALLOW: '127.0.0.1/32' }, join(work, 'data'));
  const cred = await server.api('POST', '/api/v1/agent-credentials', {
    name: 'metrics',
    allowedIdentifiers: ['metrics-rna'],
  });
  expect(cred.status, JSON.stringify(cred.json)).toBe(201);
  agent = startProcess(bins.agent, {
    env: agentEnv({ url: server.url, identifier: 'metrics-rna', cred: cred.json }),
  });
  agentPort = (await agent.waitForLog('listening')).port as number;
  await agent.waitForLog('connected');

  const started = await server.api('POST', '/api/v1/deployments', {
    deployFile: `application: metered
targets:
  dev:
    account: dev
    constraints:
      afterDeployment:
        - runWebhook:
            name: Check
manifests:
  - inline: |
      kind: ConfigMap
      metadata:
        name: metered
webhooks:
${webhook('Check', hooks.url, 'ok')}`,
  });
  expect(started.status, JSON.stringify(started.json)).toBe(202);
  deploymentId = started.json.deploymentId;
  await until(
    async () => (await server.api('GET', `/api/v1/deployments/${deploymentId}`)).json.status === 'SUCCEEDED',
    'the deployment to succeed',
    20_000,
  );
  // One call through the agent, for the tunnel's series.
  const probe = await server.api('POST', '/api/v1/agents/metrics-rna/probe', {
    method: 'GET',
    url: `${hooks.url}/ping`,
  });
  expect(probe.status, JSON.stringify(probe.json)).toBe(200);
  // A callback with an unknown token: refused, and counted as such.
  const refused = await fetch(`${server.url}/callbacks/not-a-token/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"success": true}',
  });
  expect(refused.status).toBeGreaterThanOrEqual(400);
  await fetch(`${server.url}/healthz`);
});
afterAll(async () => {
  await stopAll();
  await hooks?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('control-plane metrics after a deployment', () => {
  let text: string;
  beforeAll(async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    text = await res.text();
  });

  it("has Node's process metrics", () => {
    expect(value(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('counts HTTP requests by route pattern and status, with a duration histogram', () => {
    expect(
      value(text, 'borealis_http_requests_total', {
        route: '/api/v1/deployments',
        method: 'POST',
        status: '202',
      }),
    ).toBe(1);
    expect(
      value(text, 'borealis_http_requests_total', { route: '/api/v1/deployments/:id', method: 'GET' }),
    ).toBeGreaterThan(0);
    // The pattern, never the URL (one series per route, not per deployment id).
    expect(text).not.toContain(deploymentId);
    expect(value(text, 'borealis_http_request_duration_seconds_count', { route: '/healthz' })).toBe(1);
  });

  it('counts deployments by outcome and those running by status', () => {
    expect(value(text, 'borealis_deployments_finished_total', { outcome: 'SUCCEEDED' })).toBe(1);
    expect(value(text, 'borealis_deployments_finished_total', { outcome: 'FAILED' })).toBe(0);
    expect(value(text, 'borealis_deployments', { status: 'RUNNING' })).toBe(0);
  });

  it('counts webhook runs, their call and wait durations, and callbacks accepted and refused', () => {
    expect(value(text, 'borealis_webhook_runs_total', { outcome: 'succeeded' })).toBe(1);
    expect(value(text, 'borealis_webhook_call_duration_seconds_count')).toBe(1);
    expect(value(text, 'borealis_webhook_wait_duration_seconds_count')).toBe(1);
    expect(value(text, 'borealis_webhook_runs_in_flight', { status: 'awaiting_callback' })).toBe(0);
    expect(value(text, 'borealis_callbacks_total', { result: 'accepted' })).toBe(1);
    expect(value(text, 'borealis_callbacks_total', { result: 'refused' })).toBe(1);
  });

  it('shows agents, tunnel streams and bytes, and dispatch latency', () => {
    expect(value(text, 'borealis_agents_connected')).toBe(1);
    expect(value(text, 'borealis_agent_connections')).toBe(1);
    expect(value(text, 'borealis_tunnel_streams_total')).toBe(1);
    expect(value(text, 'borealis_tunnel_bytes_total', { direction: 'to_agent' })).toBeGreaterThan(0);
    expect(value(text, 'borealis_tunnel_bytes_total', { direction: 'from_agent' })).toBeGreaterThan(0);
    expect(value(text, 'borealis_dispatch_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    // No analysis step in this deployment: the series is there, at zero.
    expect(value(text, 'borealis_analysis_runs_total', { result: 'passed' })).toBe(0);
  });

  it("the agent's side: its /metrics counts the call it made", async () => {
    const agentText = await (await fetch(`http://127.0.0.1:${agentPort}/metrics`)).text();
    expect(value(agentText, 'borealis_agent_connected')).toBe(1);
    expect(value(agentText, 'borealis_agent_requests_total', { outcome: 'ok' })).toBe(1);
  });
});

describe('logs', () => {
  it('mark a deployment starting and finishing at info, with its id; ISO timestamps', () => {
    const json = server.proc.lines.map((l) => l.json).filter((j): j is Record<string, unknown> => Boolean(j));
    const started = json.find((j) => j.msg === 'deployment started');
    expect(started).toMatchObject({ level: 30, deploymentId, application: 'metered' });
    expect(json.find((j) => j.msg === 'deployment finished')).toMatchObject({
      level: 30,
      deploymentId,
      status: 'SUCCEEDED',
    });
    expect(json.find((j) => j.msg === 'environment finished')).toMatchObject({
      deploymentId,
      environment: 'dev',
    });
    expect(json.find((j) => j.msg === 'webhook run settled')).toMatchObject({
      level: 30,
      runId: expect.stringMatching(/^whr_/),
      status: 'succeeded',
    });
    for (const j of json)
      expect(String(j.time), JSON.stringify(j)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('keeps probes and reads out of the info log', () => {
    const json = server.proc.lines.map((l) => l.json).filter((j): j is Record<string, unknown> => Boolean(j));
    // At the default level (info), a /healthz or GET line would be a request log at 30.
    expect(json.filter((j) => j.msg === 'request answered' && j.route === '/healthz')).toEqual([]);
    expect(json.filter((j) => j.msg === 'request answered' && j.method === 'GET')).toEqual([]);
    expect(json.filter((j) => j.msg === 'incoming request' || j.msg === 'request completed')).toEqual([]);
    // What changes something is logged, once, at info.
    expect(
      json.filter(
        (j) => j.msg === 'request answered' && j.method === 'POST' && j.route === '/api/v1/deployments',
      ),
    ).toHaveLength(1);
  });

  it('BOREALIS_LOG_FORMAT=pretty prints one readable line per entry', async () => {
    const pretty = startProcess(bins.server, {
      env: {
        BOREALIS_PORT: '0',
        BOREALIS_DATA_DIR: join(work, 'pretty'),
        BOREALIS_API_TOKEN: 'pretty-token-0123456789abcdef',
        BOREALIS_LOG_FORMAT: 'pretty',
      },
    });
    await until(
      () => pretty.lines.some((l) => / INFO {2}listening {2}/.test(l.raw)),
      'the pretty listening line',
    );
    const line = pretty.lines.find((l) => / INFO {2}listening {2}/.test(l.raw))?.raw ?? '';
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}listening {2}url=http:\/\/127\.0\.0\.1:\d+/);
    expect(pretty.lines.some((l) => l.json)).toBe(false);
    await pretty.stop();
    const bad = startProcess(bins.server, {
      env: { BOREALIS_PORT: '0', BOREALIS_DATA_DIR: join(work, 'bad'), BOREALIS_LOG_FORMAT: 'xml' },
    });
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toContain(
      'BOREALIS_LOG_FORMAT=xml is not valid: expected json (the default) or pretty',
    );
  });
});

describe('docs/grafana-dashboard.json', () => {
  it('charts only series the programs expose', async () => {
    const { readFileSync } = await import('node:fs');
    const { repoRoot } = await import('./support/processes.js');
    const dash = JSON.parse(readFileSync(`${repoRoot}docs/grafana-dashboard.json`, 'utf8')) as {
      panels: Array<{ targets?: Array<{ expr: string }> }>;
    };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const cp = await (await fetch(`${server.url}/metrics`)).text();
    const ag = await (await fetch(`http://127.0.0.1:${agentPort}/metrics`)).text();
    const exposed = new Set([...samples(cp), ...samples(ag)].map((s) => s.name));
    for (const expr of exprs) {
      for (const name of expr.match(/\b(borealis|process)_[a-z_]+/g) ?? [])
        expect(exposed.has(name), `${name} (in "${expr}") is not exposed`).toBe(true);
    }
  });
});
