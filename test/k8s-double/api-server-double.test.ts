import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../kit/until.js';
import { type ApiServerDouble, startApiServerDouble } from './api-server-double.js';

/**
 * The double is only worth what its semantics are: these tests hold it to the Kubernetes API's
 * behaviour the driver depends on (server-side apply ownership and conflicts, resourceVersion,
 * watch streams, the Deployment controller, RBAC, Status objects).
 */
let api: ApiServerDouble;
const TOKEN = 'double-token';

beforeAll(async () => {
  api = await startApiServerDouble({
    token: TOKEN,
    namespaces: ['shop', 'payments'],
    forbiddenNamespaces: ['payments'],
    neverReady: (image) => image.endsWith(':broken'),
    tickMs: 10,
  });
});
afterAll(() => api?.close());

async function call(method: string, path: string, body?: unknown, contentType?: string, token = TOKEN) {
  const res = await fetch(api.url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': contentType ?? 'application/apply-patch+yaml' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

const deployment = (name: string, image: string, replicas = 2, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image }] } },
    ...extra,
  },
});
const path = (name: string, ns = 'shop') => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

describe('Kubernetes API server double', () => {
  it('refuses calls without the bearer token with a 401 Status', async () => {
    const res = await call('GET', path('web'), undefined, undefined, '');
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
  });

  it('creates with server-side apply, rolls the Deployment out, and reports it as kubectl would read it', async () => {
    const created = await call('PATCH', `${path('web')}?fieldManager=borealis`, deployment('web', 'shop:1'));
    expect(created.status).toBe(201);
    expect(created.json.metadata.generation).toBe(1);
    const done = await until(async () => {
      const d = (await call('GET', path('web'))).json;
      return d.status?.availableReplicas === 2 && d.status.observedGeneration === 1 ? d : undefined;
    }, 'web available');
    expect(done.status.updatedReplicas).toBe(2);
    expect(done.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }),
    );
    expect(api.list('replicasets', 'shop').map((r) => r.metadata.ownerReferences[0].name)).toContain('web');
  });

  it('reports a conflict with another field manager in the API words, and lets force take the field', async () => {
    api.applyAs('kubectl-edit', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { replicas: 5 },
    });
    const conflict = await call(
      'PATCH',
      `${path('web')}?fieldManager=borealis`,
      deployment('web', 'shop:2', 3),
    );
    expect(conflict.status).toBe(409);
    expect(conflict.json.reason).toBe('Conflict');
    expect(conflict.json.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
    );
    expect(conflict.json.details.causes[0]).toMatchObject({
      type: 'FieldManagerConflict',
      field: '.spec.replicas',
    });
    const forced = await call(
      'PATCH',
      `${path('web')}?fieldManager=borealis&force=true`,
      deployment('web', 'shop:2', 3),
    );
    expect(forced.status).toBe(200);
    expect(forced.json.spec.replicas).toBe(3);
  });

  it('removes fields a manager stops applying, and refuses a stale resourceVersion with 409', async () => {
    const withLabel = deployment('web', 'shop:2', 3);
    (withLabel.metadata.labels as Record<string, string>).team = 'a';
    await call('PATCH', `${path('web')}?fieldManager=borealis`, withLabel);
    const without = await call(
      'PATCH',
      `${path('web')}?fieldManager=borealis`,
      deployment('web', 'shop:2', 3),
    );
    expect(without.json.metadata.labels.team).toBeUndefined();
    const stale = deployment('web', 'shop:2', 3) as Record<string, any>;
    stale.metadata.resourceVersion = '1';
    const res = await call('PATCH', `${path('web')}?fieldManager=borealis`, stale);
    expect(res.status).toBe(409);
    expect(res.json.message).toMatch(
      /the object has been modified; please apply your changes to the latest version/,
    );
  });

  it('answers 422 Invalid with causes, and keeps the selector immutable', async () => {
    const bad = deployment('odd', 'x:1') as Record<string, any>;
    bad.spec.template.metadata.labels = { app: 'other' };
    const res = await call('PATCH', `${path('odd')}?fieldManager=borealis`, bad);
    expect(res.status).toBe(422);
    expect(res.json.reason).toBe('Invalid');
    expect(res.json.details.causes[0].field).toBe('spec.template.metadata.labels');
    const moved = deployment('web', 'shop:2', 3) as Record<string, any>;
    moved.spec.selector.matchLabels.tier = 'x';
    moved.spec.template.metadata.labels.tier = 'x';
    const immutable = await call('PATCH', `${path('web')}?fieldManager=borealis`, moved);
    expect(immutable.status).toBe(422);
    expect(immutable.json.message).toMatch(/spec.selector: Invalid value: .*field is immutable/);
  });

  it('refuses everything in a forbidden namespace as RBAC does', async () => {
    const res = await call(
      'PATCH',
      `${path('web', 'payments')}?fieldManager=borealis`,
      deployment('web', 'x:1'),
    );
    expect(res.status).toBe(403);
    expect(res.json.message).toBe(
      'deployments.apps "web" is forbidden: User "system:serviceaccount:borealis:borealis-agent" cannot patch resource "deployments" in API group "apps" in the namespace "payments"',
    );
    const review = await call(
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        spec: {
          resourceAttributes: {
            namespace: 'payments',
            verb: 'patch',
            group: 'apps',
            resource: 'deployments',
          },
        },
      },
      'application/json',
    );
    expect(review.json.status.allowed).toBe(false);
  });

  it('streams watch events from a resourceVersion, filtered by name, and ends at timeoutSeconds', async () => {
    const start = (await call('GET', path('web'))).json.metadata.resourceVersion as string;
    const res = await fetch(
      `${api.url}/apis/apps/v1/namespaces/shop/deployments?watch=1&fieldSelector=metadata.name%3Dweb&resourceVersion=${start}&timeoutSeconds=5`,
      { headers: { authorization: `Bearer ${TOKEN}` } },
    );
    await fetch(`${api.url}${path('web')}/scale?fieldManager=borealis`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: 1 } }),
    });
    const lines = (await res.text())
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.object.metadata.name === 'web')).toBe(true);
    expect(lines.some((l) => l.type === 'MODIFIED' && l.object.spec.replicas === 1)).toBe(true);
    const expired = await fetch(
      `${api.url}/apis/apps/v1/namespaces/shop/deployments?watch=1&resourceVersion=5&timeoutSeconds=1`,
      { headers: { authorization: `Bearer ${TOKEN}` } },
    );
    expect(JSON.parse((await expired.text()).trim())).toMatchObject({
      type: 'ERROR',
      object: { code: 410, reason: 'Expired' },
    });
  });

  it('never makes a broken image available, and says ProgressDeadlineExceeded after the deadline', async () => {
    await call(
      'PATCH',
      `${path('stuck')}?fieldManager=borealis`,
      deployment('stuck', 'shop:broken', 2, { progressDeadlineSeconds: 1 }),
    );
    const d = await until(async () => {
      const obj = (await call('GET', path('stuck'))).json;
      const p = obj.status?.conditions?.find((c: { type: string }) => c.type === 'Progressing');
      return p?.reason === 'ProgressDeadlineExceeded' ? obj : undefined;
    }, 'ProgressDeadlineExceeded');
    expect(d.status.availableReplicas).toBe(0);
    expect(d.status.conditions).toContainEqual(
      expect.objectContaining({
        status: 'False',
        message: expect.stringMatching(/has timed out progressing/),
      }),
    );
  });

  it('answers 404 NotFound as a Status, and deletes a Deployment with its ReplicaSets', async () => {
    expect((await call('GET', path('nope'))).json).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      code: 404,
    });
    const del = await call('DELETE', path('web'));
    expect(del.json).toMatchObject({ kind: 'Status', status: 'Success' });
    expect(api.list('replicasets', 'shop').some((r) => r.metadata.ownerReferences[0].name === 'web')).toBe(
      false,
    );
  });
});
