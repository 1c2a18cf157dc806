import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Kubernetes API server double: a real HTTP server implementing exactly the endpoints the
 * Borealis driver (and the agent's start-up access check) use, with the semantics that matter to
 * them — and only those. No Kubernetes API server can run on the machines these tests run on;
 * everything around it (agent, tunnel, relay, engine) is real.
 *
 * What it implements, as the real API server does:
 * - bearer-token authentication (401 `Status` without the right token);
 * - RBAC: every verb in a "forbidden" namespace is refused 403 with the API's exact wording;
 * - server-side apply (`PATCH`, `application/apply-patch+yaml`, `fieldManager`, `force`):
 *   field ownership per manager, conflicts (409 with `FieldManagerConflict` causes) unless
 *   forced, fields a manager stops applying are removed; lists are atomic (the real server
 *   merges some lists by key — the driver always applies whole objects, so this does not show);
 * - merge patches on the `scale` subresource, which move field ownership to the patcher;
 * - `resourceVersion` (one counter for everything), `generation` on spec changes, 409 on a stale
 *   `metadata.resourceVersion`, 422 `Invalid` with causes (selector/template labels, immutable
 *   selector, missing containers), 404 `NotFound`, 415 for other patch types;
 * - list with `labelSelector`, watch streams (`?watch=1`, `resourceVersion`, `fieldSelector`
 *   `metadata.name=`, `timeoutSeconds`, 410 `Expired` for versions it no longer holds);
 * - a Deployment controller: ReplicaSets per pod template, replicas moving one per tick, status
 *   (`observedGeneration`, `updatedReplicas`, `readyReplicas`, `availableReplicas`, conditions
 *   `Available` and `Progressing`), and `ProgressDeadlineExceeded` when pods never become ready
 *   (images for which `neverReady(image)` is true) for longer than `progressDeadlineSeconds`;
 * - `SelfSubjectAccessReview`, `/version`, namespace list.
 */
export interface ApiServerDoubleOptions {
  /** The bearer token the agent must present. */
  token: string;
  host?: string;
  port?: number;
  /** Namespaces that exist. */
  namespaces: string[];
  /** Namespaces where the identity may do nothing (403 with RBAC's message). */
  forbiddenNamespaces?: string[];
  /** Pods of these images never become ready. */
  neverReady?: (image: string) => boolean;
  /** Whether the identity may list namespaces (cluster scope); default false, as a Role gives. */
  canListNamespaces?: boolean;
  /** Controller period; one replica moves per tick. */
  tickMs?: number;
  /** The identity as RBAC names it. */
  user?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: unknown;
  status: number;
  authorization: string | undefined;
}

interface ResourceType {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: ResourceType[] = [
  { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  {
    group: 'split.smi-spec.io',
    version: 'v1alpha2',
    resource: 'trafficsplits',
    kind: 'TrafficSplit',
    namespaced: true,
  },
  {
    group: 'networking.istio.io',
    version: 'v1beta1',
    resource: 'virtualservices',
    kind: 'VirtualService',
    namespaced: true,
  },
  {
    group: 'networking.istio.io',
    version: 'v1beta1',
    resource: 'destinationrules',
    kind: 'DestinationRule',
    namespaced: true,
  },
];

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are free-form JSON.
type Obj = Record<string, any>;

interface Stored {
  type: ResourceType;
  namespace: string;
  name: string;
  object: Obj;
  /** manager → owned leaf paths (JSON-encoded key arrays). */
  owners: Map<string, Set<string>>;
  /** Deployments: when the current rollout last made progress. */
  progressAt?: number;
}

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  stored: Stored;
  object: Obj;
}

export interface ApiServerDouble {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Replica counts of Deployments each time their spec.replicas changed: [name, replicas]. */
  scaleHistory: Array<{ namespace: string; name: string; replicas: number }>;
  get(resource: string, namespace: string, name: string): Obj | undefined;
  list(resource: string, namespace: string): Obj[];
  /** Creates or updates an object as another field manager would (kubectl, an HPA...). */
  applyAs(manager: string, object: Obj): void;
  /** Revokes the identity's access to a namespace (its RoleBinding deleted). */
  forbid(namespace: string): void;
  close(): Promise<void>;
}

export class Status extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
  toJSON(): Obj {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

const SKIP_PATHS = new Set(['apiVersion', 'kind', 'status']);
const SKIP_META = new Set([
  'name',
  'namespace',
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'managedFields',
  'ownerReferences',
]);

/** Leaf paths of an object as SSA tracks them; lists count as one leaf (atomic). */
function leaves(obj: Obj, prefix: string[] = [], out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    if (prefix.length === 0 && SKIP_PATHS.has(k)) continue;
    if (prefix.length === 1 && prefix[0] === 'metadata' && SKIP_META.has(k)) continue;
    const path = [...prefix, k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
      leaves(v as Obj, path, out);
    else out.set(JSON.stringify(path), v);
  }
  return out;
}

function getPath(obj: Obj, path: string[]): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Obj)[k];
  }
  return cur;
}

function setPath(obj: Obj, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (cur[k] === null || typeof cur[k] !== 'object' || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k];
  }
  cur[path[path.length - 1] as string] = structuredClone(value);
}

function unsetPath(obj: Obj, path: string[]): void {
  const parents: Obj[] = [];
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (cur[k] === null || typeof cur[k] !== 'object') return;
    parents.push(cur);
    cur = cur[k];
  }
  delete cur[path[path.length - 1] as string];
  // Drop maps the removal left empty.
  for (let i = path.length - 2; i >= 0; i--) {
    const parent = parents[i] as Obj;
    const key = path[i] as string;
    if (parent[key] && typeof parent[key] === 'object' && Object.keys(parent[key]).length === 0)
      delete parent[key];
    else break;
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const fieldName = (path: string) => `.${(JSON.parse(path) as string[]).join('.')}`;

function matchesSelector(labels: Obj | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  return selector.split(',').every((term) => {
    const t = term.trim();
    if (!t) return true;
    const ne = t.split('!=');
    if (ne.length === 2) return l[(ne[0] as string).trim()] !== (ne[1] as string).trim();
    const eq = t.split(/==?/);
    if (eq.length === 2) return l[(eq[0] as string).trim()] === (eq[1] as string).trim();
    if (t.startsWith('!')) return !(t.slice(1) in l);
    return t in l;
  });
}

const DNS_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export async function startApiServerDouble(options: ApiServerDoubleOptions): Promise<ApiServerDouble> {
  const store = new Map<string, Stored>();
  const events: WatchEvent[] = [];
  const watchers = new Set<(e: WatchEvent) => void>();
  const requests: RecordedRequest[] = [];
  const scaleHistory: ApiServerDouble['scaleHistory'] = [];
  const forbidden = new Set(options.forbiddenNamespaces ?? []);
  const user = options.user ?? 'system:serviceaccount:borealis:borealis-agent';
  let rv = 1000;
  let uid = 0;

  const keyOf = (t: ResourceType, ns: string, name: string) => `${t.group}/${t.resource}/${ns}/${name}`;
  const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);
  const typeOf = (resource: string) => RESOURCES.find((r) => r.resource === resource);

  for (const ns of options.namespaces) {
    const t = typeOf('namespaces') as ResourceType;
    store.set(keyOf(t, '', ns), {
      type: t,
      namespace: '',
      name: ns,
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, resourceVersion: String(++rv) } },
      owners: new Map(),
    });
  }

  function emit(type: WatchEvent['type'], stored: Stored): void {
    const event: WatchEvent = { rv, type, stored, object: structuredClone(stored.object) };
    events.push(event);
    if (events.length > 2000) events.splice(0, events.length - 2000);
    for (const w of watchers) w(event);
  }

  function write(stored: Stored, type: 'ADDED' | 'MODIFIED'): void {
    stored.object.metadata.resourceVersion = String(++rv);
    stored.object.metadata.managedFields = [...stored.owners.entries()]
      .filter(([, paths]) => paths.size > 0)
      .map(([manager]) => ({ manager, operation: manager === 'borealis' ? 'Apply' : 'Update' }));
    store.set(keyOf(stored.type, stored.namespace, stored.name), stored);
    emit(type, stored);
  }

  function remove(stored: Stored): void {
    store.delete(keyOf(stored.type, stored.namespace, stored.name));
    rv++;
    emit('DELETED', stored);
    if (stored.type.resource === 'deployments') {
      for (const rs of [...store.values()]) {
        if (
          rs.type.resource === 'replicasets' &&
          rs.namespace === stored.namespace &&
          rs.object.metadata.ownerReferences?.[0]?.name === stored.name
        )
          remove(rs);
      }
    }
  }

  function forbid(verb: string, t: ResourceType, ns: string, name?: string, sub?: string): Status {
    const resource = `${t.resource}${sub ? `/${sub}` : ''}`;
    const what = `${t.resource}${t.group ? `.${t.group}` : ''}${name ? ` "${name}"` : ''}`;
    return new Status(
      403,
      'Forbidden',
      `${what} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${t.group}" in the namespace "${ns}"`,
      { ...(name ? { name } : {}), group: t.group, kind: t.resource },
    );
  }

  function validate(t: ResourceType, obj: Obj, existing: Stored | undefined): void {
    const causes: Obj[] = [];
    const name = obj.metadata?.name;
    if (typeof name !== 'string' || !DNS_1123.test(name) || name.length > 253)
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        field: 'metadata.name',
      });
    if (t.kind === 'Deployment') {
      const sel = obj.spec?.selector?.matchLabels;
      const labels = obj.spec?.template?.metadata?.labels ?? {};
      if (!sel || Object.keys(sel).length === 0)
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' });
      else if (!Object.entries(sel).every(([k, v]) => labels[k] === v))
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
          field: 'spec.template.metadata.labels',
        });
      const containers = obj.spec?.template?.spec?.containers;
      if (!Array.isArray(containers) || containers.length === 0)
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: 'spec.template.spec.containers',
        });
      else
        containers.forEach((c: Obj, i: number) => {
          if (!c?.image)
            causes.push({
              reason: 'FieldValueRequired',
              message: 'Required value',
              field: `spec.template.spec.containers[${i}].image`,
            });
        });
      if (existing && sel && !same(existing.object.spec?.selector, obj.spec?.selector))
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(obj.spec.selector)}: field is immutable`,
          field: 'spec.selector',
        });
    }
    if (causes.length > 0) {
      throw new Status(
        422,
        'Invalid',
        `${t.kind}${t.group ? `.${t.group}` : ''} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
        { name, group: t.group, kind: t.kind, causes },
      );
    }
  }

  function serverSideApply(
    t: ResourceType,
    ns: string,
    name: string,
    applied: Obj,
    manager: string,
    force: boolean,
  ): { status: number; object: Obj } {
    if (applied.kind !== t.kind || applied.apiVersion !== apiVersionOf(t))
      throw new Status(
        400,
        'BadRequest',
        `the body of the request was in an unknown format: kind ${applied.kind} (apiVersion ${applied.apiVersion}) is not ${t.kind} (${apiVersionOf(t)})`,
      );
    if (applied.metadata?.name !== name)
      throw new Status(
        400,
        'BadRequest',
        `the name of the object (${applied.metadata?.name}) does not match the name on the URL (${name})`,
      );
    if (applied.metadata?.namespace !== undefined && applied.metadata.namespace !== ns)
      throw new Status(
        400,
        'BadRequest',
        `the namespace of the provided object does not match the namespace sent on the request`,
      );
    const existing = store.get(keyOf(t, ns, name));
    const expected = applied.metadata?.resourceVersion;
    if (expected !== undefined && existing && existing.object.metadata.resourceVersion !== String(expected))
      throw new Status(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.resource}${t.group ? `.${t.group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: t.group, kind: t.resource },
      );
    if (expected !== undefined && !existing)
      throw new Status(404, 'NotFound', `${t.resource} "${name}" not found`, { name, kind: t.resource });
    const appliedLeaves = leaves(applied);
    const current: Obj = existing
      ? structuredClone(existing.object)
      : {
          apiVersion: apiVersionOf(t),
          kind: t.kind,
          metadata: {
            name,
            ...(t.namespaced ? { namespace: ns } : {}),
            uid: `uid-${++uid}`,
            creationTimestamp: new Date().toISOString(),
            ...(t.kind === 'Deployment' ? { generation: 0 } : {}),
          },
        };
    const owners = existing ? new Map([...existing.owners].map(([m, s]) => [m, new Set(s)])) : new Map();
    const conflicts: Obj[] = [];
    for (const [path, value] of appliedLeaves) {
      for (const [other, paths] of owners) {
        if (other === manager || !paths.has(path)) continue;
        if (same(getPath(current, JSON.parse(path)), value)) continue;
        if (force) paths.delete(path);
        else
          conflicts.push({
            type: 'FieldManagerConflict',
            message: `conflict with "${other}" using ${apiVersionOf(t)}`,
            field: fieldName(path),
          });
      }
    }
    if (conflicts.length > 0)
      throw new Status(
        409,
        'Conflict',
        `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.map((c) => `${c.message}: ${c.field}`).join(', ')}`,
        { name, group: t.group, kind: t.resource, causes: conflicts },
      );
    const mine = owners.get(manager) ?? new Set<string>();
    const before = JSON.stringify(current.spec ?? null);
    for (const path of mine) {
      if (appliedLeaves.has(path)) continue;
      const ownedElsewhere = [...owners].some(([m, s]) => m !== manager && s.has(path));
      if (!ownedElsewhere) unsetPath(current, JSON.parse(path));
    }
    for (const [path, value] of appliedLeaves) setPath(current, JSON.parse(path), value);
    // As the API server does: the merged result is what must be valid.
    validate(t, current, existing);
    owners.set(manager, new Set(appliedLeaves.keys()));
    const stored: Stored = existing ?? { type: t, namespace: ns, name, object: current, owners };
    stored.object = current;
    stored.owners = owners;
    const changed = !existing || !same(existing.object, current);
    if (t.kind === 'Deployment' && JSON.stringify(current.spec ?? null) !== before) {
      current.metadata.generation = (current.metadata.generation ?? 0) + 1;
      stored.progressAt = Date.now();
      scaleHistory.push({ namespace: ns, name, replicas: current.spec?.replicas ?? 1 });
    }
    if (changed) write(stored, existing ? 'MODIFIED' : 'ADDED');
    return { status: existing ? 200 : 201, object: stored.object };
  }

  function scale(t: ResourceType, ns: string, name: string, patch: Obj, manager: string): Obj {
    const stored = store.get(keyOf(t, ns, name));
    if (!stored)
      throw new Status(404, 'NotFound', `deployments.apps "${name}" not found`, {
        name,
        group: 'apps',
        kind: 'deployments',
      });
    const replicas = patch?.spec?.replicas;
    if (replicas !== undefined) {
      if (!Number.isInteger(replicas) || replicas < 0)
        throw new Status(
          422,
          'Invalid',
          `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${replicas}: must be greater than or equal to 0`,
        );
      if (stored.object.spec.replicas !== replicas) {
        stored.object.spec.replicas = replicas;
        stored.object.metadata.generation = (stored.object.metadata.generation ?? 0) + 1;
        stored.progressAt = Date.now();
        scaleHistory.push({ namespace: ns, name, replicas });
        const path = JSON.stringify(['spec', 'replicas']);
        for (const [m, paths] of stored.owners) if (m !== manager) paths.delete(path);
        const mine = stored.owners.get(manager) ?? new Set<string>();
        mine.add(path);
        stored.owners.set(manager, mine);
        write(stored, 'MODIFIED');
      }
    }
    return scaleOf(stored);
  }

  const scaleOf = (stored: Stored): Obj => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: stored.name,
      namespace: stored.namespace,
      resourceVersion: stored.object.metadata.resourceVersion,
    },
    spec: { replicas: stored.object.spec?.replicas ?? 1 },
    status: { replicas: stored.object.status?.replicas ?? 0 },
  });

  // ---- the Deployment controller -------------------------------------------------------------
  function reconcile(): void {
    const now = Date.now();
    for (const d of [...store.values()]) {
      if (d.type.resource !== 'deployments') continue;
      const obj = d.object;
      const desired: number = obj.spec?.replicas ?? 1;
      const hash = createHash('sha256')
        .update(JSON.stringify(obj.spec?.template ?? {}))
        .digest('hex')
        .slice(0, 10);
      const rsType = typeOf('replicasets') as ResourceType;
      const rsName = `${d.name}-${hash}`;
      const mine = [...store.values()].filter(
        (s) =>
          s.type.resource === 'replicasets' &&
          s.namespace === d.namespace &&
          s.object.metadata.ownerReferences?.[0]?.name === d.name,
      );
      let rsNew = mine.find((s) => s.name === rsName);
      if (!rsNew) {
        rsNew = {
          type: rsType,
          namespace: d.namespace,
          name: rsName,
          owners: new Map(),
          object: {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            metadata: {
              name: rsName,
              namespace: d.namespace,
              uid: `uid-${++uid}`,
              labels: { ...(obj.spec?.template?.metadata?.labels ?? {}), 'pod-template-hash': hash },
              ownerReferences: [
                { apiVersion: 'apps/v1', kind: 'Deployment', name: d.name, controller: true },
              ],
            },
            spec: { replicas: 0, template: structuredClone(obj.spec?.template ?? {}) },
            status: { replicas: 0, readyReplicas: 0, availableReplicas: 0 },
          },
        };
        write(rsNew, 'ADDED');
      }
      const images: string[] = (obj.spec?.template?.spec?.containers ?? []).map((c: Obj) => String(c.image));
      const broken = images.some((i) => options.neverReady?.(i) ?? false);
      const olds = mine.filter((s) => s !== rsNew);
      let progressed = false;
      const setRs = (rs: Stored, replicas: number, ready: number) => {
        const st = rs.object.status;
        if (rs.object.spec.replicas === replicas && st.replicas === replicas && st.readyReplicas === ready)
          return;
        rs.object.spec.replicas = replicas;
        rs.object.status = { replicas, readyReplicas: ready, availableReplicas: ready };
        progressed = true;
        write(rs, 'MODIFIED');
      };
      // New pods: one more per tick, ready one tick later (never, for a broken image).
      const nr: number = rsNew.object.spec.replicas;
      const nextNew = nr < desired ? nr + 1 : nr > desired ? nr - 1 : nr;
      const readyNew = broken ? 0 : Math.min(nr, nextNew);
      setRs(rsNew, nextNew, readyNew);
      // Old pods go as new ones become available (availability is kept), one per tick.
      let oldTotal = olds.reduce((n, s) => n + s.object.spec.replicas, 0);
      for (const rs of olds) {
        const r: number = rs.object.spec.replicas;
        if (r > 0 && readyNew + oldTotal > desired) {
          setRs(rs, r - 1, r - 1);
          oldTotal--;
        } else setRs(rs, r, r);
      }
      const oldReady = olds.reduce((n, s) => n + s.object.status.readyReplicas, 0);
      const updated: number = rsNew.object.spec.replicas;
      const available = readyNew + oldReady;
      const total = updated + oldTotal;
      const complete = updated === desired && readyNew === desired && total === desired;
      if (progressed) d.progressAt = now;
      const deadlineMs = (obj.spec?.progressDeadlineSeconds ?? 600) * 1000;
      const stalled = !complete && now - (d.progressAt ?? now) > deadlineMs;
      const progressing = complete
        ? {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetAvailable',
            message: `ReplicaSet "${rsName}" has successfully progressed.`,
          }
        : stalled
          ? {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: `ReplicaSet "${rsName}" has timed out progressing.`,
            }
          : {
              type: 'Progressing',
              status: 'True',
              reason: 'ReplicaSetUpdated',
              message: `ReplicaSet "${rsName}" is progressing.`,
            };
      const availableCondition =
        available >= desired
          ? {
              type: 'Available',
              status: 'True',
              reason: 'MinimumReplicasAvailable',
              message: 'Deployment has minimum availability.',
            }
          : {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            };
      const status = {
        observedGeneration: obj.metadata.generation,
        replicas: total,
        updatedReplicas: updated,
        readyReplicas: available,
        availableReplicas: available,
        ...(total - available > 0 ? { unavailableReplicas: total - available } : {}),
        conditions: [availableCondition, progressing],
      };
      if (!same(obj.status, status)) {
        obj.status = status;
        write(d, 'MODIFIED');
      }
    }
  }
  const ticker = setInterval(reconcile, options.tickMs ?? 20);

  // ---- HTTP ----------------------------------------------------------------------------------
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status =
        err instanceof Status ? err : new Status(500, 'InternalError', `the double failed: ${String(err)}`);
      send(res, status.code, status.toJSON());
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function send(res: ServerResponse, status: number, body: Obj): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const query = Object.fromEntries(url.searchParams);
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    const text = await readBody(req);
    let body: unknown;
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      contentType,
      body: undefined,
      status: 0,
      authorization: req.headers.authorization,
    };
    requests.push(record);
    const reply = (status: number, obj: Obj) => {
      record.status = status;
      send(res, status, obj);
    };
    try {
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          throw new Status(
            400,
            'BadRequest',
            "the double accepts JSON bodies only (YAML is JSON's superset; send JSON)",
          );
        }
      }
      record.body = body;
      if (req.headers.authorization !== `Bearer ${options.token}`)
        throw new Status(401, 'Unauthorized', 'Unauthorized');
      await route(req, res, url, body as Obj, contentType, reply, record);
    } catch (err) {
      const status =
        err instanceof Status ? err : new Status(500, 'InternalError', `the double failed: ${String(err)}`);
      reply(status.code, status.toJSON());
    }
  }

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: Obj,
    contentType: string | undefined,
    reply: (status: number, obj: Obj) => void,
    record: RecordedRequest,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (path === '/version' && method === 'GET') {
      reply(200, { major: '1', minor: '31', gitVersion: 'v1.31.0-borealis-double', platform: 'linux/amd64' });
      return;
    }
    if (path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' && method === 'POST') {
      const attrs = body?.spec?.resourceAttributes ?? {};
      const allowed = !forbidden.has(attrs.namespace);
      reply(201, {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: body?.spec ?? {},
        status: allowed ? { allowed: true, reason: 'RBAC: allowed by RoleBinding' } : { allowed: false },
      });
      return;
    }
    const m =
      /^\/api\/v1(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(path) ??
      /^\/apis\/([^/]+)\/([^/]+)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(
        path,
      );
    if (!m) throw new Status(404, 'NotFound', 'the server could not find the requested resource');
    let group = '';
    let version = 'v1';
    let ns: string | undefined;
    let resource: string;
    let name: string | undefined;
    let sub: string | undefined;
    if (path.startsWith('/api/v1')) {
      [, ns, resource, name, sub] = m as unknown as [string, string | undefined, string, string?, string?];
    } else {
      [, group, version, ns, resource, name, sub] = m as unknown as [
        string,
        string,
        string,
        string | undefined,
        string,
        string?,
        string?,
      ];
    }
    const t = RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
    if (!t) throw new Status(404, 'NotFound', 'the server could not find the requested resource');
    // Cluster-scoped: only the namespace list.
    if (!t.namespaced) {
      if (method !== 'GET' || name)
        throw new Status(405, 'MethodNotAllowed', 'the double serves GET namespaces only');
      if (!options.canListNamespaces)
        throw new Status(
          403,
          'Forbidden',
          `namespaces is forbidden: User "${user}" cannot list resource "namespaces" in API group "" at the cluster scope`,
          { kind: 'namespaces' },
        );
      reply(200, list(t, '', undefined));
      return;
    }
    if (!ns) throw new Status(404, 'NotFound', 'the double serves namespaced requests only');
    const verb =
      method === 'GET'
        ? name
          ? 'get'
          : url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true'
            ? 'watch'
            : 'list'
        : method === 'PATCH'
          ? 'patch'
          : method === 'DELETE'
            ? 'delete'
            : method === 'POST'
              ? 'create'
              : method === 'PUT'
                ? 'update'
                : method.toLowerCase();
    if (forbidden.has(ns)) throw forbid(verb, t, ns, name, sub);
    if (!options.namespaces.includes(ns))
      throw new Status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    if (!name) {
      if (verb === 'watch') {
        watch(res, t, ns, url, record);
        return;
      }
      if (verb === 'list') {
        reply(200, list(t, ns, url.searchParams.get('labelSelector') ?? undefined));
        return;
      }
      throw new Status(405, 'MethodNotAllowed', `the double does not serve ${method} on collections`);
    }
    const stored = store.get(keyOf(t, ns, name));
    const notFound = () =>
      new Status(404, 'NotFound', `${t.resource}${t.group ? `.${t.group}` : ''} "${name}" not found`, {
        name,
        group: t.group,
        kind: t.resource,
      });
    if (sub === 'scale' && t.resource === 'deployments') {
      if (method === 'GET') {
        if (!stored) throw notFound();
        reply(200, scaleOf(stored));
        return;
      }
      if (method === 'PATCH') {
        if (contentType !== 'application/merge-patch+json')
          throw new Status(
            415,
            'UnsupportedMediaType',
            `the double patches scale with application/merge-patch+json only, not ${contentType}`,
          );
        reply(200, scale(t, ns, name, body, url.searchParams.get('fieldManager') ?? 'unknown'));
        return;
      }
    }
    if (sub) throw new Status(404, 'NotFound', 'the server could not find the requested resource');
    switch (method) {
      case 'GET':
        if (!stored) throw notFound();
        reply(200, stored.object);
        return;
      case 'DELETE':
        if (!stored) throw notFound();
        remove(stored);
        reply(200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, group: t.group, kind: t.resource, uid: stored.object.metadata.uid },
        });
        return;
      case 'PATCH': {
        if (contentType !== 'application/apply-patch+yaml')
          throw new Status(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml (the double serves server-side apply only); got ${contentType}`,
          );
        const manager = url.searchParams.get('fieldManager');
        if (!manager)
          throw new Status(
            400,
            'BadRequest',
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
          );
        const force = url.searchParams.get('force') === 'true';
        const dryRun = url.searchParams.get('dryRun') === 'All';
        if (dryRun) throw new Status(400, 'BadRequest', 'the double does not implement dryRun');
        const out = serverSideApply(t, ns, name, body, manager, force);
        reply(out.status, out.object);
        return;
      }
      default:
        throw new Status(405, 'MethodNotAllowed', `the double does not serve ${method} on objects`);
    }
  }

  function list(t: ResourceType, ns: string, selector: string | undefined): Obj {
    const items = [...store.values()]
      .filter((s) => s.type === t && (s.namespace === ns || !t.namespaced))
      .filter((s) => matchesSelector(s.object.metadata.labels, selector))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => s.object);
    return {
      apiVersion: apiVersionOf(t),
      kind: `${t.kind}List`,
      metadata: { resourceVersion: String(rv) },
      items,
    };
  }

  function watch(res: ServerResponse, t: ResourceType, ns: string, url: URL, record: RecordedRequest): void {
    const selector = url.searchParams.get('labelSelector') ?? undefined;
    const field = url.searchParams.get('fieldSelector') ?? '';
    const onlyName = /^metadata\.name=(.+)$/.exec(field)?.[1];
    const from = url.searchParams.get('resourceVersion');
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? '1800');
    record.status = 200;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // As the API server does: the answer starts at once, events follow as they happen.
    res.flushHeaders();
    const matches = (s: Stored) =>
      s.type === t &&
      s.namespace === ns &&
      (!onlyName || s.name === onlyName) &&
      matchesSelector(s.object.metadata.labels, selector);
    const line = (type: string, object: Obj) => res.write(`${JSON.stringify({ type, object })}\n`);
    if (from && from !== '0') {
      const since = Number(from);
      const oldest = events[0]?.rv ?? rv;
      if (since < oldest - 1) {
        line('ERROR', new Status(410, 'Expired', `too old resource version: ${since} (${oldest})`).toJSON());
        res.end();
        return;
      }
      for (const e of events) if (e.rv > since && matches(e.stored)) line(e.type, e.object);
    } else {
      for (const s of store.values()) if (matches(s)) line('ADDED', s.object);
    }
    const listener = (e: WatchEvent) => {
      if (matches(e.stored)) line(e.type, e.object);
    };
    watchers.add(listener);
    const end = () => {
      watchers.delete(listener);
      clearTimeout(timer);
      res.end();
    };
    const timer = setTimeout(end, Math.max(1, timeoutSeconds) * 1000);
    // The response's close, not the request's: a request "closes" once its body is read.
    res.on('close', end);
  }

  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    requests,
    scaleHistory,
    get: (resource, namespace, name) => {
      const t = typeOf(resource);
      return t ? store.get(keyOf(t, namespace, name))?.object : undefined;
    },
    list: (resource, namespace) => {
      const t = typeOf(resource);
      return t ? (list(t, namespace, undefined).items as Obj[]) : [];
    },
    forbid(namespace) {
      forbidden.add(namespace);
    },
    applyAs(manager, object) {
      const t = RESOURCES.find((r) => r.kind === object.kind) as ResourceType;
      serverSideApply(t, object.metadata.namespace, object.metadata.name, object, manager, true);
    },
    async close() {
      clearInterval(ticker);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
