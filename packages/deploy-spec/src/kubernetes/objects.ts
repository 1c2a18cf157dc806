import { parseAllDocuments } from 'yaml';
import { slugOf } from '../deployfile/index.js';
import type { StoredSpec } from './contracts.js';

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are free-form JSON.
export type KubeObject = Record<string, any>;

/** The one field manager Borealis applies with, so ownership stays stable across deployments. */
export const FIELD_MANAGER = 'borealis';

/** Keys Borealis writes both as labels and as annotations. */
const OWNED_KEYS = {
  application: 'borealis.io/application',
  environment: 'borealis.io/environment',
  version: 'borealis.io/version',
} as const;

export const Labels = {
  ...OWNED_KEYS,
  managedBy: 'app.kubernetes.io/managed-by',
  /** On Deployments: the name the manifest gave it (canary and blue/green add the version). */
  workload: 'borealis.io/workload',
} as const;

export const Annotations = { ...OWNED_KEYS, deploymentId: 'borealis.io/deployment-id' } as const;

/** A manifest problem, with where it is and what to do. */
export class ManifestError extends Error {}

/** Kinds Borealis refuses: cluster-scoped, so one environment's deploy would change every one. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'APIService',
  'IngressClass',
]);

const IRREGULAR_PLURALS: Record<string, string> = {
  Ingress: 'ingresses',
  NetworkPolicy: 'networkpolicies',
  PodSecurityPolicy: 'podsecuritypolicies',
  Endpoints: 'endpoints',
};

export function pluralOf(kind: string): string {
  const irregular = IRREGULAR_PLURALS[kind];
  if (irregular) return irregular;
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

/** The object's REST path: /api/v1/namespaces/NS/services/NAME or /apis/G/V/namespaces/NS/... */
export function objectPath(obj: KubeObject, subresource?: string): string {
  const apiVersion = String(obj.apiVersion);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = encodeURIComponent(String(obj.metadata.namespace));
  const name = encodeURIComponent(String(obj.metadata.name));
  return `${base}/namespaces/${ns}/${pluralOf(String(obj.kind))}/${name}${subresource ? `/${subresource}` : ''}`;
}

export function collectionPath(apiVersion: string, kind: string, namespace: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/${pluralOf(kind)}`;
}

export const describeObject = (obj: KubeObject) =>
  `${obj.kind} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

/** A label value from any name (names may be any text; annotations keep them as written). */
export const labelValue = (text: string): string => slugOf(text);

export interface RenderInput {
  spec: StoredSpec;
  environment: string;
  namespace: string;
  deploymentId: string;
  version: string;
}

export interface SourcedObject {
  /** Where it came from: `manifests[0] (k8s/web.yaml), document 2`. */
  source: string;
  object: KubeObject;
}

/**
 * The manifests that apply to one environment, parsed, in the target's namespace, with the
 * labels and annotations that name application, environment, deployment and version. Pure: the
 * driver and `borealis deploy plan` call the same function, so the plan is what is applied.
 */
export function renderManifests(input: RenderInput): SourcedObject[] {
  const out: SourcedObject[] = [];
  input.spec.manifests.forEach((m, i) => {
    if (m.targets && !m.targets.includes(input.environment)) return;
    let text: string;
    let where: string;
    if ('inline' in m) {
      text = m.inline;
      where = `manifests[${i}] (inline)`;
    } else {
      const content = input.spec.manifestFiles?.[m.path];
      if (content === undefined)
        throw new ManifestError(
          `manifests[${i}] names the file ${m.path}, but its content was not sent with the deploy file: start the deployment with \`borealis deploy start -f FILE\`, which reads manifest files next to the deploy file, or send them as "manifestFiles": {"${m.path}": "..."} in the API call`,
        );
      text = content;
      where = `manifests[${i}] (${m.path})`;
    }
    const docs = parseAllDocuments(text);
    docs.forEach((doc, d) => {
      const source = `${where}, document ${d + 1}`;
      if (doc.errors.length > 0)
        throw new ManifestError(`${source} is not valid YAML: ${doc.errors[0]?.message ?? 'parse error'}`);
      const value = doc.toJS() as unknown;
      if (value === null || value === undefined) return;
      if (typeof value !== 'object' || Array.isArray(value))
        throw new ManifestError(
          `${source} is not a Kubernetes object (a mapping with apiVersion, kind, metadata)`,
        );
      const obj = value as KubeObject;
      if (obj.kind === 'List' && Array.isArray(obj.items)) {
        obj.items.forEach((item: unknown, k: number) => {
          out.push({
            source: `${source}, item ${k + 1}`,
            object: prepare(item as KubeObject, `${source}, item ${k + 1}`, input),
          });
        });
        return;
      }
      out.push({ source, object: prepare(obj, source, input) });
    });
  });
  const seen = new Map<string, string>();
  for (const o of out) {
    const key = `${o.object.apiVersion}/${o.object.kind}/${o.object.metadata.name}`;
    const first = seen.get(key);
    if (first)
      throw new ManifestError(
        `${o.source} and ${first} both define ${o.object.kind} ${o.object.metadata.name}; each object may appear once per environment`,
      );
    seen.set(key, o.source);
  }
  return out;
}

function prepare(raw: KubeObject, source: string, input: RenderInput): KubeObject {
  if (typeof raw?.apiVersion !== 'string' || typeof raw?.kind !== 'string')
    throw new ManifestError(`${source} needs apiVersion and kind`);
  if (typeof raw.metadata?.name !== 'string' || !raw.metadata.name)
    throw new ManifestError(`${source} (${raw.kind}) needs metadata.name`);
  if (CLUSTER_SCOPED.has(raw.kind))
    throw new ManifestError(
      `${source} is a ${raw.kind}, which is cluster-scoped: Borealis applies namespaced objects only (into the target's namespace); create ${raw.kind} objects outside the deployment`,
    );
  if (raw.metadata.namespace !== undefined && raw.metadata.namespace !== input.namespace)
    throw new ManifestError(
      `${source} (${raw.kind} ${raw.metadata.name}) says namespace ${raw.metadata.namespace}, but environment ${input.environment} deploys to namespace ${input.namespace}: remove metadata.namespace (the target's namespace is used) or fix targets.${input.environment}.namespace`,
    );
  const obj = structuredClone(raw);
  delete obj.status;
  for (const k of ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields'])
    delete obj.metadata[k];
  obj.metadata.namespace = input.namespace;
  obj.metadata.labels = {
    ...(obj.metadata.labels ?? {}),
    [Labels.managedBy]: 'borealis',
    [Labels.application]: labelValue(input.spec.application),
    [Labels.environment]: labelValue(input.environment),
    [Labels.version]: input.version,
  };
  obj.metadata.annotations = {
    ...(obj.metadata.annotations ?? {}),
    [Annotations.application]: input.spec.application,
    [Annotations.environment]: input.environment,
    [Annotations.deploymentId]: input.deploymentId,
    [Annotations.version]: input.version,
  };
  if (obj.kind === 'Deployment') {
    obj.metadata.labels[Labels.workload] = obj.metadata.name;
    obj.spec ??= {};
    obj.spec.template ??= {};
    obj.spec.template.metadata ??= {};
    obj.spec.template.metadata.labels = {
      ...(obj.spec.template.metadata.labels ?? {}),
      [Labels.version]: input.version,
    };
  }
  return obj;
}

/** Canary and blue/green run the new version beside the old: its own name and selector. */
export function versionedDeployment(obj: KubeObject, version: string, replicas: number): KubeObject {
  const out = structuredClone(obj);
  out.metadata.name = versionedName(obj.metadata.name, version);
  out.spec.replicas = replicas;
  out.spec.selector = {
    ...(out.spec.selector ?? {}),
    matchLabels: { ...(out.spec.selector?.matchLabels ?? {}), [Labels.version]: version },
  };
  return out;
}

export function versionedName(name: string, version: string): string {
  const suffix = `-${version}`;
  return `${name.slice(0, 253 - suffix.length)}${suffix}`;
}

/** A Service that sends traffic to one version only (blue/green's active and preview). */
export function pinnedService(service: KubeObject, version: string): KubeObject {
  const out = structuredClone(service);
  out.spec ??= {};
  out.spec.selector = { ...(out.spec.selector ?? {}), [Labels.version]: version };
  return out;
}

/** What can be re-applied of an object read from the cluster (for a rollback). */
export function appliable(obj: KubeObject): KubeObject {
  const out = structuredClone(obj);
  delete out.status;
  for (const k of ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields', 'selfLink'])
    delete out.metadata?.[k];
  if (out.kind === 'Service' && out.spec) {
    // Allocated by the API server; applying them back would pin or conflict.
    delete out.spec.clusterIP;
    delete out.spec.clusterIPs;
  }
  return out;
}

/** Apply order: configuration first, workloads next, what routes traffic to them last. */
export function applyOrder(objects: SourcedObject[]): SourcedObject[] {
  const rank = (kind: string) =>
    ['ConfigMap', 'Secret', 'ServiceAccount'].includes(kind)
      ? 0
      : kind === 'Deployment'
        ? 2
        : ['Service', 'Ingress', 'TrafficSplit', 'VirtualService', 'DestinationRule'].includes(kind)
          ? 3
          : 1;
  return [...objects].sort((a, b) => rank(a.object.kind) - rank(b.object.kind));
}
