import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KUBERNETES_API_HOST } from '@borealis/protocol';
import { describe, expect, it } from 'vitest';
import { type AgentOptions, compileAgentOptions } from './agent-options.js';
import { agentBench, readAll, until } from './control-plane-double.test-util.js';
import type { AgentConfigError } from './errors.js';

/**
 * BOREALIS_KUBERNETES: the agent speaks for its cluster. What must hold: calls to the virtual host
 * reach the API server with the agent's credentials (never the control plane's), only the API is
 * reachable there, every other destination still needs the allow-list, and an agent without the
 * setting refuses the virtual host with the fix.
 */
const bench = agentBench({ identifier: 'cluster-agent', clientId: 'client' });

interface FakeApi {
  origin: string;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>;
}

/** A stand-in API server: answers /version, SelfSubjectAccessReviews (payments denied), echoes. */
async function apiServer(tls?: { key: Buffer; cert: Buffer }): Promise<FakeApi> {
  const api: FakeApi = { origin: '', requests: [] };
  const handler = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      api.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/version') return res.end(JSON.stringify({ gitVersion: 'v1.31.0' }));
      if (req.url?.startsWith('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')) {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          spec: { resourceAttributes: { namespace: string } };
        };
        return res.end(
          JSON.stringify({ status: { allowed: body.spec.resourceAttributes.namespace !== 'payments' } }),
        );
      }
      if (req.url === '/api/v1/namespaces') {
        res.statusCode = 403;
        return res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', code: 403 }));
      }
      res.end(JSON.stringify({ path: req.url }));
    });
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  api.origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  bench.cleanup(() => new Promise((r) => server.close(r)));
  return api;
}

function kubeconfig(server: string, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'brl-kubeconfig-'));
  bench.cleanup(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: test
contexts:
  - name: test
    context: { cluster: c, user: u, namespace: shop }
clusters:
  - name: c
    cluster: { server: "${server}" }
users:
  - name: u
    user: ${extra || '{ token: agent-token }'}
`,
  );
  return file;
}

async function agentWith(options: Partial<AgentOptions>) {
  const cp = await bench.controlPlane();
  const a = await bench.agent(cp, options);
  await a.ready;
  return { session: await cp.waitForSessions(1), lines: a.lines };
}

const body = async (res: { body: AsyncIterable<Uint8Array> }) =>
  JSON.parse((await readAll(res.body)).toString());

describe('agent: BOREALIS_KUBERNETES', () => {
  it('carries calls to the virtual host to its API server with its own token, dropping the caller credentials', async () => {
    const api = await apiServer();
    const { session, lines } = await agentWith({ kubernetes: `kubeconfig:${kubeconfig(api.origin)}` });
    const res = await session.request({
      method: 'GET',
      url: `https://${KUBERNETES_API_HOST}/apis/apps/v1/namespaces/shop/deployments?labelSelector=a%3Db`,
      headers: [
        ['authorization', 'Bearer from-the-control-plane'],
        ['impersonate-user', 'system:admin'],
        ['accept', 'application/json'],
      ],
    });
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({
      path: '/apis/apps/v1/namespaces/shop/deployments?labelSelector=a%3Db',
    });
    const seen = api.requests.find((r) => r.url.startsWith('/apis/apps'));
    expect(seen?.headers.authorization).toBe('Bearer agent-token');
    expect(seen?.headers['impersonate-user']).toBeUndefined();
    // At start it said where it can act: its context's namespace (it may not list namespaces).
    const isAccess = (l: Record<string, unknown>) => l.msg === 'kubernetes access';
    await until(() => lines.some(isAccess));
    const access = lines.find(isAccess) as Record<string, unknown>;
    expect(access).toMatchObject({ canActIn: ['shop'], namespacesFrom: 'own namespace' });
  });

  it('reaches only the API there, and still refuses other destinations not in BOREALIS_ALLOW', async () => {
    const api = await apiServer();
    const { session } = await agentWith({
      kubernetes: `kubeconfig:${kubeconfig(api.origin)}`,
      allow: undefined,
    });
    await expect(session.request({ url: `https://${KUBERNETES_API_HOST}/metrics` })).rejects.toMatchObject({
      code: 'BRL_STREAM_DESTINATION_REFUSED',
      message: expect.stringContaining('Only the Kubernetes API (/api, /apis, /version)'),
    });
    await expect(session.request({ url: `${api.origin}/version` })).rejects.toMatchObject({
      code: 'BRL_STREAM_DESTINATION_REFUSED',
      message: expect.stringContaining('BOREALIS_ALLOW'),
    });
    expect(api.requests.filter((r) => r.url === '/metrics')).toHaveLength(0);
  });

  it('without BOREALIS_KUBERNETES the virtual host is refused with the fix, even under allow "*"', async () => {
    const { session } = await agentWith({ allow: '*' });
    await expect(session.request({ url: `https://${KUBERNETES_API_HOST}/version` })).rejects.toMatchObject({
      code: 'BRL_STREAM_DESTINATION_REFUSED',
      message: expect.stringContaining('start it with BOREALIS_KUBERNETES=in-cluster'),
    });
  });

  it('in-cluster: service-account token and CA from the pod files, API address from KUBERNETES_SERVICE_HOST/PORT', async () => {
    const fixtures = new URL('../test/fixtures/', import.meta.url);
    const tls = {
      key: readFileSync(new URL('localhost-key.pem', fixtures)),
      cert: readFileSync(new URL('localhost-cert.pem', fixtures)),
    };
    const api = await apiServer(tls);
    const sa = mkdtempSync(join(tmpdir(), 'brl-sa-'));
    bench.cleanup(() => rmSync(sa, { recursive: true, force: true }));
    writeFileSync(join(sa, 'token'), 'projected-sa-token\n');
    writeFileSync(join(sa, 'ca.crt'), tls.cert);
    writeFileSync(join(sa, 'namespace'), 'payments');
    const { session, lines } = await agentWith({
      kubernetes: 'in-cluster',
      serviceAccountDir: sa,
      kubernetesServiceEnv: {
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: new URL(api.origin).port,
      },
    });
    const res = await session.request({ url: `https://${KUBERNETES_API_HOST}/version` });
    expect(await body(res)).toEqual({ gitVersion: 'v1.31.0' });
    expect(api.requests[0]?.headers.authorization).toBe('Bearer projected-sa-token');
    const isAccess = (l: Record<string, unknown>) => l.msg === 'kubernetes access';
    await until(() => lines.some(isAccess));
    const access = lines.find(isAccess) as Record<string, unknown>;
    expect(access.level).toBe(40);
    expect(access.cannotActIn).toMatchObject({ payments: expect.stringContaining('patch deployments.apps') });
  });

  it('a bad setting stops the start, naming the variable and the fix', () => {
    const base = { controlPlaneUrl: 'http://127.0.0.1:1', identifier: 'a', clientId: 'c', clientSecret: 's' };
    const problems = (o: Partial<AgentOptions>) => {
      try {
        compileAgentOptions({ ...base, ...o });
      } catch (err) {
        return (err as AgentConfigError).problems.join('\n');
      }
      return '';
    };
    expect(problems({ kubernetes: 'yes' })).toContain(
      'BOREALIS_KUBERNETES (kubernetes) must be "in-cluster"',
    );
    expect(problems({ kubernetes: 'in-cluster', kubernetesServiceEnv: {} })).toContain(
      'KUBERNETES_SERVICE_HOST is not set',
    );
    expect(problems({ kubernetes: 'kubeconfig:/nowhere/config' })).toContain(
      'cannot read the kubeconfig at /nowhere/config',
    );
    expect(
      problems({
        kubernetes: `kubeconfig:${kubeconfig('https://k8s.example:6443', '{ exec: { command: aws } }')}`,
      }),
    ).toContain('exec plugin');
    expect(problems({ kubernetesNamespaces: 'Shop' })).toContain('BOREALIS_KUBERNETES_NAMESPACES');
  });
});
