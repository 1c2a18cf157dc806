import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDeployment } from '../kit/deployments.js';
import { createPrivateNetwork, type PrivateNetwork } from '../kit/netns.mjs';
import { until } from '../kit/until.js';
import { freePort, type ServerProc, startServer, TEST_TOKEN } from './support/control-plane.js';
import {
  agentEnv,
  bins,
  type Proc,
  type Run,
  repoRoot,
  runCli,
  startProcess,
  stopAll,
} from './support/processes.js';

/**
 * Analysis that judges, against a real Prometheus (Debian's `prometheus`, started here with its
 * own config and storage) that lives in a private network: Prometheus and the metrics target it
 * scrapes sit on an address only the network namespace has, the agent runs inside it, and the
 * control plane (a real `borealis-server` child process) outside reaches them only through the
 * agent. The test sets the metric values by rewriting the target's values file.
 */
let net: PrivateNetwork;
let work: string;
let valuesFile: string;
let server: ServerProc;
let serverEnv: Record<string, string>;
let agent: Proc;
let prometheus: ChildProcess | undefined;
let promUrl: string;
const PROM_PORT = 19090;

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}
const rate = (app: string, value: number, labels: Record<string, string> = {}): Series => ({
  name: 'http_error_rate',
  labels: { app, ...labels },
  value,
});
function setValues(series: Series[]): void {
  writeFileSync(`${valuesFile}.tmp`, JSON.stringify(series));
  // Atomic: a scrape never reads half a file.
  renameSync(`${valuesFile}.tmp`, valuesFile);
}

async function startPrometheus(): Promise<void> {
  try {
    execFileSync('prometheus', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'These tests need the prometheus binary: apt-get install -y prometheus (.ci/run installs it when missing)',
    );
  }
  const dir = join(work, 'prometheus');
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: canary
    static_configs:
      - targets: ['${targetAddress}']
`,
  );
  // Our own binary and config, never the Debian package's service: nothing here depends on it.
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      net.name,
      'prometheus',
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${net.privateAddress}:${PROM_PORT}`,
      '--log.level=info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus = child;
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prometheus did not start; log:\n${log}`)), 30_000);
    const onData = (b: Buffer) => {
      log += b.toString();
      if (log.includes('Server is ready to receive web requests')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Prometheus exited (${code}); log:\n${log}`));
    });
  });
}

async function stopPrometheus(): Promise<void> {
  const child = prometheus;
  if (!child || child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  prometheus = undefined;
}

function cli(args: string[], timeoutMs = 60_000): Promise<Run> {
  return runCli(args, { url: server.url, token: TEST_TOKEN, home: work, cwd: work, timeoutMs });
}

let targetAddress: string;

function deployFile(
  app: string,
  opts: { runs?: number; rollBackMode?: string; extra?: string[]; provider?: string; query?: string } = {},
): string {
  const extra = (opts.extra ?? []).map((l) => `            ${l}\n`).join('');
  const query =
    opts.query ??
    'avg(avg_over_time(http_error_rate{app="{{armory.applicationName}}"}[{{armory.promQlStepInterval}}]))';
  return `application: ${app}
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: ${app}}}"}]
targets:
  prod:
    account: metrics-rna
    strategy: canary-analysis
strategies:
  canary-analysis:
    canary:
      steps:
        - setWeight:
            weight: 25
        - analysis:
            interval: 2
            units: seconds
            numberOfJudgmentRuns: ${opts.runs ?? 2}
            rollBackMode: ${opts.rollBackMode ?? 'automatic'}
${extra}            queries:
              - error-rate
analysis:
  defaultMetricProviderName: ${opts.provider ?? 'prom'}
  queries:
    - name: error-rate
      lowerLimit: 0
      upperLimit: 0.05
      queryTemplate: >-
        ${query}
`;
}

// biome-ignore lint/suspicious/noExplicitAny: the status JSON is read loosely here
type Json = any;

async function start(yaml: string): Promise<string> {
  const file = join(work, `deploy-${Date.now()}-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, yaml);
  const r = await cli(['deploy', 'start', '-f', file]);
  expect(r.code, r.stderr).toBe(0);
  const id = /Deployment (\S+)/.exec(r.stdout)?.[1];
  if (!id) throw new Error(`no deployment id in ${r.stdout}`);
  return id;
}

function waitFor(id: string, statuses: string[], timeoutMs = 60_000): Promise<Json> {
  return waitForDeployment(server.api, id, statuses, { timeoutMs });
}

const analysisOf = (d: Json) =>
  d.environments[0].steps.find((s: Json) => s.location === 'strategy.steps[1]') as Json;

beforeAll(async () => {
  net = createPrivateNetwork();
  work = mkdtempSync(join(tmpdir(), 'brl-prom-'));
  valuesFile = join(work, 'values.json');
  setValues([
    rate('warmup', 1),
    rate('healthy-shop', 0.01),
    rate('broken-shop', 0.3),
    rate('manual-shop', 0.3),
    rate('multi-shop', 0.01, { pod: 'a' }),
    rate('multi-shop', 0.02, { pod: 'b' }),
    rate('restart-shop', 0.02),
    rate('down-shop', 0.01),
  ]);
  const target = startProcess(`${repoRoot}test/e2e/support/metrics-target.mjs`, {
    netns: net.name,
    args: [net.privateAddress, valuesFile],
  });
  const { port } = await target.waitForLog('listening');
  targetAddress = `${net.privateAddress}:${port as number}`;
  await startPrometheus();
  promUrl = `http://${net.privateAddress}:${PROM_PORT}`;

  const cpPort = await freePort(net.hostAddress);
  serverEnv = {
    BOREALIS_HOST: net.hostAddress,
    BOREALIS_PORT: String(cpPort),
    // The SSRF guard would refuse the private address anyway; allow it, so that what stops a
    // direct query below is the network itself.
    BOREALIS_DIRECT_ALLOW: '10.232.0.0/16',
  };
  server = await startServer(serverEnv, join(work, 'cp-data'));
  const cred = await server.api('POST', '/api/v1/agent-credentials', {
    name: 'metrics',
    allowedIdentifiers: ['metrics-rna'],
  });
  expect(cred.status).toBe(201);
  agent = startProcess(bins.agent, {
    netns: net.name,
    env: agentEnv({
      url: server.url,
      identifier: 'metrics-rna',
      cred: cred.json,
      allow: `${net.privateAddress}/32`,
      reconnectMax: '500ms',
    }),
  });
  await agent.waitForLog('connected');
}, 90_000);

afterAll(async () => {
  await stopPrometheus();
  await stopAll();
  net?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('analysis against a real Prometheus behind the agent', () => {
  it('registers Prometheus with the CLI; `test` queries it through the agent (the control plane cannot reach it)', async () => {
    const set = await cli([
      'metric-providers',
      'set',
      'prom',
      '--type',
      'prometheus',
      '--url',
      promUrl,
      '--agent',
      'metrics-rna',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`metric provider prom saved: prometheus at ${promUrl}, agent metrics-rna`);
    const list = await cli(['metric-providers', 'list']);
    expect(list.stdout).toMatch(/prom\s+prometheus\s+http:\/\/10\.232\.\d+\.10:19090\s+agent metrics-rna/);

    // Prometheus has scraped the target once its value comes back through the agent.
    const probe = await until(
      async () => {
        const r = await cli([
          'metric-providers',
          'test',
          'prom',
          '--query',
          'sum(http_error_rate{app="warmup"})',
        ]);
        return r.code === 0 ? r : undefined;
      },
      'Prometheus to have scraped the target',
      30_000,
    );
    expect(probe.stdout.trim()).toBe('1\t(prom via agent metrics-rna)');

    // Prometheus' own error for a bad query.
    const bad = await cli(['metric-providers', 'test', 'prom', '--query', 'sum(http_error_rate{']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('BRL_ERR_METRIC_QUERY_FAILED');
    expect(bad.stderr).toContain('Prometheus answered 400 bad_data');

    // The same Prometheus, direct from the control plane: not reachable.
    const direct = await server.api('PUT', '/api/v1/metric-providers/prom-direct', {
      type: 'prometheus',
      baseUrl: promUrl,
      networkMode: 'direct',
      timeoutSeconds: 2,
    });
    expect(direct.status).toBe(201);
    const tried = await server.api('POST', '/api/v1/metric-providers/prom-direct/test', { query: 'up' });
    // Where nothing answers it times out or is unreachable; a network that answers every
    // connection itself (a middlebox) gives an answer that is not Prometheus'. Never a value.
    expect([502, 504]).toContain(tried.status);
    expect(tried.json.error.code).toMatch(/BRL_ERR_METRIC_(UNREACHABLE|TIMEOUT|QUERY_FAILED)/);
    expect(tried.json.value).toBeUndefined();
    expect((await server.api('DELETE', '/api/v1/metric-providers/prom-direct')).status).toBe(204);
  }, 90_000);

  it('a healthy canary promotes after its judgment runs, each visible with its value, limits and window', async () => {
    const file = join(work, 'healthy.yml');
    writeFileSync(file, deployFile('healthy-shop'));
    const watched = await cli(['deploy', 'start', '-f', file, '--watch'], 90_000);
    expect(watched.code, `${watched.stdout}\n${watched.stderr}`).toBe(0);
    expect(watched.stdout).toContain('strategy.steps[1]: judgment 1 of 2 passed');
    expect(watched.stdout).toContain('strategy.steps[1]: judgment 2 of 2 passed');
    expect(watched.stdout).toContain('✓ error-rate = 0.01 in [0, 0.05] (prom via agent metrics-rna)');
    const id = /deployment (\S+) of healthy-shop/.exec(watched.stdout)?.[1] as string;

    const d = await waitFor(id, ['SUCCEEDED']);
    const step = analysisOf(d);
    expect(step.status).toBe('succeeded');
    expect(step.analysis).toMatchObject({
      interval: '2 seconds',
      numberOfJudgmentRuns: 2,
      lookbackMethod: 'growing',
      rollBackMode: 'automatic',
    });
    const runs = step.analysis.runs as Json[];
    expect(runs.map((r) => [r.run, r.verdict])).toEqual([
      [1, 'passed'],
      [2, 'passed'],
    ]);
    for (const r of runs) {
      expect(r.queries).toEqual([
        {
          query: 'error-rate',
          provider: 'prom',
          value: 0.01,
          lowerLimit: 0,
          upperLimit: 0.05,
          passed: true,
          message: 'error-rate = 0.01, within [0, 0.05]',
          via: 'agent metrics-rna',
        },
      ]);
    }
    // Growing: both windows start when the step started; each ends one interval later.
    expect(runs[0].window.start).toBe(step.startedAt);
    expect(runs[1].window.start).toBe(step.startedAt);
    expect(Date.parse(runs[0].window.end) - Date.parse(step.startedAt)).toBe(2_000);
    expect(Date.parse(runs[1].window.end) - Date.parse(step.startedAt)).toBe(4_000);
    expect(d.environments[0].target.versions).toEqual([
      expect.objectContaining({ deploymentId: id, weight: 100 }),
    ]);

    const status = await cli(['deploy', 'status', id]);
    expect(status.stdout).toContain(
      'analysis strategy.steps[1]: 2 of 2 run(s), every 2 seconds, growing window',
    );
    expect(status.stdout).toMatch(/run 2 passed at .*, window .* – .*/);
    expect(status.stdout).toContain('✓ error-rate = 0.01 in [0, 0.05] (prom via agent metrics-rna)');
  }, 120_000);

  it('an unhealthy canary rolls back automatically, saying which value broke which limit', async () => {
    const id = await start(deployFile('broken-shop', { extra: ['abortOnFailedJudgment: true'] }));
    const d = await waitFor(id, ['ROLLED_BACK', 'SUCCEEDED', 'FAILED']);
    expect(d.status).toBe('ROLLED_BACK');
    expect(d.environments[0].message).toContain(
      'analysis failed judgment 1 of 2: error-rate = 0.3, above upperLimit 0.05',
    );
    expect(d.environments[0].message).toContain('rolled back automatically');
    const runs = analysisOf(d).analysis.runs as Json[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ verdict: 'failed' });
    expect(runs[0].queries[0]).toMatchObject({ value: 0.3, upperLimit: 0.05, passed: false });
  }, 60_000);

  it('a query that returns several series fails its run and says to aggregate', async () => {
    const id = await start(
      deployFile('multi-shop', {
        runs: 1,
        query: 'http_error_rate{app="{{armory.applicationName}}"}',
      }),
    );
    const d = await waitFor(id, ['ROLLED_BACK', 'SUCCEEDED', 'FAILED']);
    expect(d.status).toBe('ROLLED_BACK');
    const q = analysisOf(d).analysis.runs[0].queries[0];
    expect(q.value).toBeUndefined();
    expect(q.message).toContain('returned 2 series: aggregate them, e.g. avg(...)');
  }, 60_000);

  it('rollBackMode manual waits for a person, who rolls back', async () => {
    const id = await start(
      deployFile('manual-shop', { rollBackMode: 'manual', extra: ['abortOnFailedJudgment: true'] }),
    );
    const waiting = await waitFor(id, ['AWAITING_APPROVAL', 'ROLLED_BACK', 'SUCCEEDED']);
    expect(waiting.status).toBe('AWAITING_APPROVAL');
    const step = analysisOf(waiting);
    expect(step.status).toBe('waiting');
    expect(step.message).toContain(
      'rollBackMode is manual: waiting for a person to roll back or roll forward',
    );
    expect(step.awaiting.commands).toContain(`borealis deploy rollback ${id} --env prod`);
    // It keeps waiting: no more runs are made while a person decides.
    await new Promise((r) => setTimeout(r, 2_500));
    const still = (await server.api('GET', `/api/v1/deployments/${id}`)).json;
    expect(still.status).toBe('AWAITING_APPROVAL');
    expect(analysisOf(still).analysis.runs).toHaveLength(1);

    const rb = await cli(['deploy', 'rollback', id, '--env', 'prod']);
    expect(rb.code, rb.stderr).toBe(0);
    const d = await waitFor(id, ['ROLLED_BACK']);
    expect(d.environments[0].message).toContain('rolled back by');
  }, 60_000);

  it('a deployment naming a provider that does not exist is refused at start, with line, column and those that exist', async () => {
    const yaml = deployFile('missing-shop', { provider: 'prometheus-prod' });
    const res = await fetch(`${server.url}/api/v1/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/yaml' },
      body: yaml,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Json;
    const line = yaml.split('\n').findIndex((l) => l.includes('defaultMetricProviderName')) + 1;
    expect(body.error.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'BRL_DF_UNKNOWN_METRIC_PROVIDER',
        line,
        column: 30,
        message: 'metric provider "prometheus-prod" does not exist (existing: prom)',
      }),
    );
    expect(body.error.message).toContain(`line ${line}, column 30`);
    const list = (await server.api('GET', '/api/v1/deployments?application=missing-shop')).json;
    expect(list.deployments).toEqual([]);
  });

  it('a control-plane restart in the middle of the runs resumes them: none lost, none made twice', async () => {
    const id = await start(deployFile('restart-shop', { runs: 4, extra: ['lookbackMethod: sliding'] }));
    await until(
      async () => {
        const d = (await server.api('GET', `/api/v1/deployments/${id}`)).json;
        return analysisOf(d)?.analysis?.runs?.length === 1;
      },
      'the first judgment run',
      30_000,
    );
    server.proc.kill('SIGKILL');
    await server.proc.exited;
    // Down past the second run's due time: it must be made after the restart, not skipped.
    await new Promise((r) => setTimeout(r, 2_500));
    server = await startServer(serverEnv, join(work, 'cp-data'));
    await agent
      .waitForLog('connected', () => agent.countLogs('connected') >= 2, 20_000)
      .catch(() => undefined);

    const d = await waitFor(id, ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'], 90_000);
    expect(d.status, JSON.stringify(analysisOf(d), null, 2)).toBe('SUCCEEDED');
    const runs = analysisOf(d).analysis.runs as Json[];
    expect(runs.map((r) => [r.run, r.verdict])).toEqual([
      [1, 'passed'],
      [2, 'passed'],
      [3, 'passed'],
      [4, 'passed'],
    ]);
    // The stored schedule: due every 2 s from the step's start, sliding windows that tile.
    const started = Date.parse(analysisOf(d).startedAt);
    runs.forEach((r, i) => {
      expect(Date.parse(r.scheduledAt) - started).toBe(2_000 * (i + 1));
      expect(Date.parse(r.window.end) - Date.parse(r.window.start)).toBe(2_000);
      expect(r.queries[0].value).toBe(0.02);
    });
    const events = (await fetchEvents(id)).filter((e) => e.type === 'item.judgment');
    expect(events.map((e) => e.index)).toEqual([0, 1, 2, 3]);
  }, 150_000);

  it('a Prometheus that is down fails the run with its error, and the canary rolls back', async () => {
    await stopPrometheus();
    const id = await start(deployFile('down-shop', { extra: ['abortOnFailedJudgment: true'] }));
    const d = await waitFor(id, ['ROLLED_BACK', 'SUCCEEDED', 'FAILED']);
    expect(d.status).toBe('ROLLED_BACK');
    const run = analysisOf(d).analysis.runs[0];
    expect(run.verdict).toBe('failed');
    expect(run.queries[0].value).toBeUndefined();
    expect(run.queries[0].message).toContain('through agent "metrics-rna"');
    expect(run.queries[0].message).toMatch(/ECONNREFUSED|connection refused/);
    expect(d.environments[0].message).toMatch(/ECONNREFUSED|connection refused/);
  }, 60_000);
});

async function fetchEvents(id: string): Promise<Json[]> {
  // The stream replays every stored event and ends at the final one.
  const res = await fetch(`${server.url}/api/v1/deployments/${id}/events`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}`, accept: 'text/event-stream' },
  });
  const text = await res.text();
  return text
    .split('\n\n')
    .map((block) =>
      block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n'),
    )
    .filter(Boolean)
    .map((data) => JSON.parse(data) as Json);
}
