import {
  ManifestError,
  objectPath,
  parseDeployFile,
  pluralOf,
  renderManifests,
  type StoredSpec,
} from '@borealis/deploy-spec';
import { describe, expect, it } from 'vitest';
import { rolloutState } from './rollout.js';

function spec(manifests: string, files: Record<string, string> = {}): StoredSpec {
  const parsed = parseDeployFile(`application: My Shop
targets:
  staging (eu):
    account: a
    namespace: shop
  prod:
    account: b
    namespace: shop
manifests:
${manifests}`);
  if (!parsed.spec) throw new Error(JSON.stringify(parsed.diagnostics));
  return { ...parsed.spec, manifestFiles: files };
}

const render = (s: StoredSpec) =>
  renderManifests({
    spec: s,
    environment: 'staging (eu)',
    namespace: 'shop',
    deploymentId: 'd-1',
    version: 'v-1',
  });

describe('manifests as the driver applies them', () => {
  it('puts every object in the target namespace with labels (slugs) and annotations (as written)', () => {
    const [cm] = render(
      spec('  - inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c, labels: {team: x}}}"'),
    );
    expect(cm?.object.metadata).toEqual({
      name: 'c',
      namespace: 'shop',
      labels: {
        team: 'x',
        'app.kubernetes.io/managed-by': 'borealis',
        'borealis.io/application': 'my-shop',
        'borealis.io/environment': 'staging-eu',
        'borealis.io/version': 'v-1',
      },
      annotations: {
        'borealis.io/application': 'My Shop',
        'borealis.io/environment': 'staging (eu)',
        'borealis.io/deployment-id': 'd-1',
        'borealis.io/version': 'v-1',
      },
    });
    expect(objectPath(cm?.object ?? {})).toBe('/api/v1/namespaces/shop/configmaps/c');
  });

  it('reads path manifests from the files sent along, multi-document and List, and honours targets:', () => {
    const s = spec(
      `  - path: k8s/all.yaml
  - inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: elsewhere}}"
    targets: [prod]`,
      {
        'k8s/all.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Secret, metadata: {name: b}}\n',
      },
    );
    expect(render(s).map((o) => `${o.object.kind}/${o.object.metadata.name} from ${o.source}`)).toEqual([
      'ConfigMap/a from manifests[0] (k8s/all.yaml), document 1',
      'Secret/b from manifests[0] (k8s/all.yaml), document 2, item 1',
    ]);
  });

  it('refuses, saying where and how to fix: a missing file, another namespace, a cluster-scoped kind, a duplicate', () => {
    expect(() => render(spec('  - path: k8s/gone.yaml'))).toThrow(/borealis deploy start -f FILE/);
    expect(() =>
      render(spec('  - inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: other}}"')),
    ).toThrow(/says namespace other, but environment staging \(eu\) deploys to namespace shop/);
    expect(() =>
      render(
        spec(
          '  - inline: "{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r}}"',
        ),
      ),
    ).toThrow(ManifestError);
    expect(() =>
      render(
        spec(`  - inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"
  - inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"`),
      ),
    ).toThrow(/both define ConfigMap c/);
  });

  it('knows the plurals the REST paths need', () => {
    expect(['Deployment', 'Ingress', 'NetworkPolicy', 'Service', 'StorageClass'].map(pluralOf)).toEqual([
      'deployments',
      'ingresses',
      'networkpolicies',
      'services',
      'storageclasses',
    ]);
  });
});

describe('rollout status, read as kubectl rollout status reads it', () => {
  const d = (status: Record<string, unknown>, generation = 2, replicas = 3) => ({
    metadata: { name: 'web', generation },
    spec: { replicas },
    status,
  });
  it('waits for the controller, then for updated, old-gone and available replicas', () => {
    expect(rolloutState(d({ observedGeneration: 1 })).progress).toContain(
      'waiting for the controller to see generation 2',
    );
    expect(
      rolloutState(d({ observedGeneration: 2, updatedReplicas: 1, replicas: 3, availableReplicas: 3 })).done,
    ).toBe(false);
    expect(
      rolloutState(d({ observedGeneration: 2, updatedReplicas: 3, replicas: 4, availableReplicas: 3 }))
        .progress,
    ).toContain('1 old replica(s) terminating');
    expect(
      rolloutState(d({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 })).done,
    ).toBe(false);
    expect(
      rolloutState(d({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 })).done,
    ).toBe(true);
  });
  it('fails at ProgressDeadlineExceeded with the API message', () => {
    const s = rolloutState(
      d({
        observedGeneration: 2,
        updatedReplicas: 3,
        replicas: 6,
        availableReplicas: 3,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "web-1" has timed out progressing.',
          },
        ],
      }),
    );
    expect(s.failed).toBe(
      'Deployment web: ProgressDeadlineExceeded: ReplicaSet "web-1" has timed out progressing. (3/3 updated, 3/3 available)',
    );
  });
});
