import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeployFile } from '@borealis/deploy-spec';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, createControlPlane } from '../server.js';

const TOKEN = 'metric-providers-test-token-0123456789';
const SECRET = 'prom-token-NeverShownAnywhere-77';

/** A real HTTP server answering JSON, as a `web` metric endpoint does; it records what it got. */
let web: Server;
let webUrl: string;
const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
const planes: ControlPlane[] = [];
const dirs: string[] = [];

async function plane(directAllow: string[]): Promise<ControlPlane> {
  const dataDir = mkdtempSync(join(tmpdir(), 'brl-mp-'));
  dirs.push(dataDir);
  const cp = await createControlPlane({
    port: 0,
    dataDir,
    apiToken: TOKEN,
    directAllow,
    logger: pino({ level: 'silent' }),
  });
  await cp.listen();
  planes.push(cp);
  return cp;
}

async function api(cp: ControlPlane, method: string, path: string, body?: unknown) {
  const res = await fetch(cp.url + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read loosely
  return { status: res.status, text, json: (text ? JSON.parse(text) : undefined) as any };
}

let cp: ControlPlane;
let guarded: ControlPlane;

beforeAll(async () => {
  web = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (req.url?.startsWith('/echo-auth'))
      return void res.writeHead(500).end(`denied for ${String(req.headers.authorization)}`);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ data: { errorRate: 0.02 } }));
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  cp = await plane(['127.0.0.1/32']);
  guarded = await plane([]);
});

afterAll(async () => {
  for (const p of planes) await p.close();
  web?.closeAllConnections();
  await new Promise<void>((r) => web?.close(() => r()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('metric provider routes', () => {
  it('creates (201), reads, lists and replaces (200); a missing secret is a warning', async () => {
    const body = {
      type: 'prometheus',
      baseUrl: 'http://prometheus.internal:9090/',
      networkMode: 'remoteNetworkAgent',
      agentIdentifier: 'prod-rna',
      headers: [{ key: 'Authorization', value: 'Bearer {{secrets.prom_token}}' }],
    };
    const created = await api(cp, 'PUT', '/api/v1/metric-providers/prom', body);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'prom',
      type: 'prometheus',
      baseUrl: 'http://prometheus.internal:9090',
      networkMode: 'remoteNetworkAgent',
      agentIdentifier: 'prod-rna',
      headers: [{ key: 'Authorization', value: 'Bearer {{secrets.prom_token}}' }],
      timeoutSeconds: 30,
    });
    expect(created.json.warnings).toEqual([
      'secret "prom_token" does not exist yet; queries fail until it does: borealis secrets set prom_token',
    ]);
    expect((await api(cp, 'GET', '/api/v1/metric-providers/prom')).json.agentIdentifier).toBe('prod-rna');
    // A short timeout: a query waits that long for an agent that is not connected.
    const replaced = await api(cp, 'PUT', '/api/v1/metric-providers/prom', {
      ...body,
      agentIdentifier: 'eu-rna',
      timeoutSeconds: 1,
    });
    expect(replaced.status).toBe(200);
    const list = await api(cp, 'GET', '/api/v1/metric-providers');
    expect(
      list.json.metricProviders.map((p: { name: string; agentIdentifier: string }) => [
        p.name,
        p.agentIdentifier,
      ]),
    ).toEqual([['prom', 'eu-rna']]);
  });

  it('refuses bad definitions with the field and the fix', async () => {
    const bad = await api(cp, 'PUT', '/api/v1/metric-providers/p2', {
      type: 'prometheus',
      baseUrl: 'http://u:pw@prom:9090',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'BRL_ERR_METRIC_PROVIDER_INVALID', field: 'baseUrl' });
    const schema = await api(cp, 'PUT', '/api/v1/metric-providers/p2', {
      type: 'datadog',
      baseUrl: 'http://x',
    });
    expect(schema.status).toBe(400);
    expect(schema.json.error.code).toBe('BRL_ERR_BAD_REQUEST');
    expect(schema.json.error.message).toContain('type');
    const name = await api(cp, 'PUT', '/api/v1/metric-providers/-bad', {
      type: 'prometheus',
      baseUrl: 'http://x',
    });
    expect(name.status).toBe(400);
    expect(name.json.error.field).toBe('name');
  });

  it('deletes (204); then 404 naming the providers that exist', async () => {
    await api(cp, 'PUT', '/api/v1/metric-providers/gone', { type: 'prometheus', baseUrl: 'http://x:9090' });
    expect((await api(cp, 'DELETE', '/api/v1/metric-providers/gone')).status).toBe(204);
    const again = await api(cp, 'DELETE', '/api/v1/metric-providers/gone');
    expect(again.status).toBe(404);
    expect(again.json.error.code).toBe('BRL_ERR_METRIC_PROVIDER_NOT_FOUND');
    expect(again.json.error.message).toContain('existing: prom');
    expect((await api(cp, 'GET', '/api/v1/metric-providers/gone')).status).toBe(404);
  });

  it('test: one query now, headers rendered with the secret, which no answer shows', async () => {
    await cp.secrets.put('web_token', SECRET);
    const put = await api(cp, 'PUT', '/api/v1/metric-providers/web', {
      type: 'web',
      baseUrl: webUrl,
      jsonPath: '$.data.errorRate',
      headers: [{ key: 'Authorization', value: 'Bearer {{secrets.web_token}}' }],
    });
    expect(put.status).toBe(201);
    expect(put.text).not.toContain(SECRET);
    const ok = await api(cp, 'POST', '/api/v1/metric-providers/web/test', { query: '/rate?app=a' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ value: 0.02, provider: 'web', url: `${webUrl}/rate?app=a` });
    const badTime = await api(cp, 'POST', '/api/v1/metric-providers/web/test', {
      query: '/rate',
      time: 'yesterday',
    });
    expect(badTime.status).toBe(400);
    expect(badTime.json.error.message).toContain('time');
    expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);

    // The endpoint echoes the header in its error: the message carries the error, masked.
    const echo = await api(cp, 'POST', '/api/v1/metric-providers/web/test', { query: '/echo-auth' });
    expect(echo.status).toBe(502);
    expect(echo.json.error.code).toBe('BRL_ERR_METRIC_QUERY_FAILED');
    expect(echo.json.error.message).toContain('answered HTTP 500: denied for Bearer ****');
    expect(echo.text).not.toContain(SECRET);
    const listed = await api(cp, 'GET', '/api/v1/metric-providers');
    expect(listed.text).not.toContain(SECRET);
  });

  it('test: a provider that is down fails with the connection error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await api(cp, 'PUT', '/api/v1/metric-providers/down', {
      type: 'prometheus',
      baseUrl: `http://127.0.0.1:${port}`,
    });
    const r = await api(cp, 'POST', '/api/v1/metric-providers/down/test', { query: 'up' });
    expect(r.status).toBe(502);
    expect(r.json.error).toMatchObject({ code: 'BRL_ERR_METRIC_UNREACHABLE' });
    expect(r.json.error.message).toContain('connection refused (ECONNREFUSED)');
  });

  it('test: a direct provider on a private address is refused by the SSRF guard', async () => {
    await api(guarded, 'PUT', '/api/v1/metric-providers/web', {
      type: 'web',
      baseUrl: webUrl,
      jsonPath: '$.v',
    });
    const r = await api(guarded, 'POST', '/api/v1/metric-providers/web/test', { query: '/rate' });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('BRL_ERR_WEBHOOK_SSRF_REFUSED');
    expect(r.json.error.message).toContain('BOREALIS_DIRECT_ALLOW');
  });

  it('test: a missing secret, then no agent connected: each says so', async () => {
    const noSecret = await api(cp, 'POST', '/api/v1/metric-providers/prom/test', { query: 'up' });
    expect(noSecret.status).toBe(400);
    expect(noSecret.json.error.message).toContain('no secret named "prom_token"');
    await cp.secrets.put('prom_token', SECRET);
    const r = await api(cp, 'POST', '/api/v1/metric-providers/prom/test', { query: 'up' });
    expect(r.status).toBe(502);
    expect(r.json.error.code).toBe('BRL_ERR_METRIC_UNREACHABLE');
    expect(r.json.error.message).toContain('through agent "eu-rna"');
    expect(r.json.error.message).toContain('No agent "eu-rna" is connected');
  });

  it('judge: each query goes to its provider (query, else step, else default), rendered with the window and context', async () => {
    for (const name of ['step-web', 'query-web', 'default-web'])
      await api(cp, 'PUT', `/api/v1/metric-providers/${name}`, {
        type: 'web',
        baseUrl: `${webUrl}/${name}`,
        jsonPath: '$.data.errorRate',
      });
    const before = seen.length;
    const outcome = await cp.metrics.judge({
      deploymentId: 'd-1',
      application: 'shop',
      environment: 'prod',
      replicaSetName: 'shop-v-1',
      step: {
        type: 'analysis',
        metricProviderName: 'step-web',
        context: {},
        interval: 30,
        units: 'seconds',
        numberOfJudgmentRuns: 1,
        rollBackMode: 'automatic',
        rollForwardMode: 'automatic',
        queries: ['a', 'b'],
      },
      queries: [
        {
          name: 'a',
          queryTemplate:
            '/q?from={{armory.startTimeEpochSeconds}}&to={{armory.endTimeIso8601}}&step={{armory.promQlStepInterval}}&env={{context.env}}',
          upperLimit: 0.05,
        },
        {
          name: 'b',
          queryTemplate: '/q?app={{armory.applicationName}}',
          upperLimit: 0.01,
          metricProviderName: 'query-web',
        },
      ],
      defaultMetricProviderName: 'default-web',
      context: { env: 'a b/c' },
      index: 0,
      window: { start: 1_700_000_000_000, end: 1_700_000_030_000 },
    });
    expect(
      seen
        .slice(before)
        .map((r) => r.url)
        .sort(),
    ).toEqual([
      '/query-web/q?app=shop',
      '/step-web/q?from=1700000000&to=2023-11-14T22%3A13%3A50.000Z&step=30s&env=a%20b%2Fc',
    ]);
    expect(outcome.passed).toBe(false);
    expect(outcome.queries).toEqual([
      expect.objectContaining({ query: 'a', provider: 'step-web', value: 0.02, passed: true }),
      expect.objectContaining({ query: 'b', provider: 'query-web', value: 0.02, passed: false }),
    ]);
    expect(outcome.message).toBe('b = 0.02, above upperLimit 0.01');
  });

  it('a start whose analysis names a provider that does not exist is refused; once it exists, it starts', async () => {
    const deployFile = `application: mp-start
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]
targets:
  prod:
    strategy: judged
strategies:
  judged:
    canary:
      steps:
        - analysis: {interval: 30, units: seconds, numberOfJudgmentRuns: 1, queries: [errors]}
analysis:
  defaultMetricProviderName: later
  queries:
    - {name: errors, lowerLimit: 0, upperLimit: 1, queryTemplate: 'sum(up)'}
`;
    // Valid offline: only the providers that exist can refuse it.
    expect(parseDeployFile(deployFile).spec?.analysis.queries).toHaveLength(1);
    const refused = await api(guarded, 'POST', '/api/v1/deployments', { deployFile });
    expect(refused.status).toBe(400);
    expect(refused.json.error.code).toBe('BRL_ERR_DEPLOY_FILE_INVALID');
    expect(refused.json.error.message).toContain('metric provider "later" does not exist');
    await api(guarded, 'PUT', '/api/v1/metric-providers/later', {
      type: 'prometheus',
      baseUrl: 'http://x:9090',
    });
    const started = await api(guarded, 'POST', '/api/v1/deployments', {
      deployFile: deployFile.replace('mp-start', 'mp-start-2'),
    });
    expect(started.status).toBe(202);
  });
});
