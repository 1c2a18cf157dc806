import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import {
  type DriverContext,
  type StoredSpec,
  type TargetDriver,
  TargetDriverError,
  type TargetRef,
  type TargetVersion,
  type TargetView,
} from '../engine/target-driver.js';
import type { DriverOp } from '../engine/types.js';
import type { Dispatcher } from '../relay/index.js';
import type { Database } from '../store/index.js';
import { createKubernetesApi, type KubernetesApi, KubernetesApiError } from './api-client.js';
import {
  Annotations,
  appliable,
  applyOrder,
  collectionPath,
  describeObject,
  type KubeObject,
  Labels,
  labelValue,
  ManifestError,
  objectPath,
  pinnedService,
  renderManifests,
  versionedDeployment,
  versionedName,
} from './objects.js';
import { waitForRollout } from './rollout.js';
import { trafficObjects } from './traffic.js';

export const KUBERNETES_DRIVER_NAME = 'kubernetes';

export type RolloutMode = 'replace' | 'canary' | 'blueGreen';

export interface OldVersion {
  name: string;
  replicas: number;
  version?: string;
  deploymentId?: string;
}

export interface Workload {
  /** The Deployment's name in the manifest. */
  name: string;
  /** The name it runs under in this rollout (`web`, or `web-v-1a2b3c4d` beside the old one). */
  newName: string;
  total: number;
  olds: OldVersion[];
}

/** What the driver keeps per rollout (table kubernetes_rollouts), written before it acts. */
export interface RolloutRecord {
  account: string;
  namespace: string;
  mode: RolloutMode;
  version: string;
  deploymentId: string;
  workloads: Workload[];
  /** Every object the rollout touches, as it was before (null: absent). A rollback restores it. */
  snapshot: Array<{ path: string; describe: string; before: KubeObject | null }>;
  weight: number;
  /** Blue/green: traffic moved to the new version. */
  trafficMoved: boolean;
  oldShutDown: boolean;
  rolledBack: boolean;
}

export interface KubernetesDriverOptions {
  db: Kysely<Database>;
  dispatcher: Dispatcher;
  logger: Logger;
  /** Longest single watch before it is re-established (tests shorten it). */
  watchSeconds?: number;
}

export function modeOf(spec: StoredSpec, environment: string): RolloutMode {
  const target = spec.targets[environment];
  const strategy = target?.strategy ? spec.strategies[target.strategy] : undefined;
  return strategy?.type ?? 'replace';
}

export interface BlueGreenServices {
  activeService: string;
  previewService?: string;
}

/**
 * A blue/green target's Services: the strategy's, or (as Armory's current guide writes them)
 * `trafficManagement[].kubernetes[]` for the target.
 */
export function blueGreenOf(spec: StoredSpec, environment: string): BlueGreenServices | undefined {
  const target = spec.targets[environment];
  const strategy = target?.strategy ? spec.strategies[target.strategy] : undefined;
  if (strategy?.type !== 'blueGreen') return undefined;
  const fromTraffic = spec.trafficManagement
    .filter((t) => !t.targets || t.targets.length === 0 || t.targets.includes(environment))
    .flatMap((t) => (Array.isArray(t.kubernetes) ? (t.kubernetes as Array<Record<string, unknown>>) : []))
    .find((k) => typeof k?.activeService === 'string');
  const activeService = strategy.activeService ?? (fromTraffic?.activeService as string | undefined);
  const previewService =
    strategy.previewService ??
    (typeof fromTraffic?.previewService === 'string' ? fromTraffic.previewService : undefined);
  if (!activeService)
    throw new TargetDriverError(
      `blue/green in ${environment} needs an activeService: set strategies.${target?.strategy}.blueGreen.activeService, or trafficManagement: [{targets: [${environment}], kubernetes: [{activeService: NAME}]}]`,
    );
  return { activeService, ...(previewService ? { previewService } : {}) };
}

/** What one environment's first action applies, given the older versions found in the cluster. */
export function deployObjects(
  rendered: KubeObject[],
  mode: RolloutMode,
  version: string,
  workloads: Workload[],
  blueGreen: BlueGreenServices | undefined,
): KubeObject[] {
  const out: KubeObject[] = [];
  for (const obj of rendered) {
    if (obj.kind === 'Deployment' && mode !== 'replace') {
      const w = workloads.find((x) => x.name === obj.metadata.name);
      const hasOld = (w?.olds ?? []).some((o) => o.replicas > 0);
      const replicas = mode === 'canary' && hasOld ? 0 : (obj.spec?.replicas ?? 1);
      out.push(versionedDeployment(obj, version, replicas));
      continue;
    }
    if (obj.kind === 'Service' && blueGreen) {
      const anyOld = workloads.some((w) => w.olds.some((o) => o.replicas > 0));
      if (obj.metadata.name === blueGreen.activeService) {
        // Traffic stays where it is until redirectTrafficAfter passed; with nothing running yet
        // there is nothing to protect, and the Service points at the new version at once.
        if (!anyOld) out.push(pinnedService(obj, version));
        continue;
      }
      if (obj.metadata.name === blueGreen.previewService) {
        out.push(pinnedService(obj, version));
        continue;
      }
    }
    out.push(obj);
  }
  return out;
}

/**
 * The `kubernetes` target driver: server-side apply of the deploy file's manifests through the
 * agent named by the target's account, rollouts watched to the end, canary and blue/green as
 * two Deployments side by side, rollback to what was there before.
 */
export function createKubernetesDriver(options: KubernetesDriverOptions): TargetDriver & {
  record(deploymentId: string, environment: string): Promise<RolloutRecord | undefined>;
} {
  const { db, dispatcher, logger } = options;

  async function load(deploymentId: string, environment: string): Promise<RolloutRecord | undefined> {
    const row = await db
      .selectFrom('kubernetes_rollouts')
      .select('state')
      .where('deployment_id', '=', deploymentId)
      .where('environment', '=', environment)
      .executeTakeFirst();
    return row ? (JSON.parse(row.state) as RolloutRecord) : undefined;
  }

  async function save(target: TargetRef, record: RolloutRecord): Promise<void> {
    const state = JSON.stringify(record);
    const now = Date.now();
    await db
      .insertInto('kubernetes_rollouts')
      .values({
        deployment_id: target.deploymentId,
        environment: target.environment,
        application: target.application,
        state,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.columns(['deployment_id', 'environment']).doUpdateSet({ state, updated_at: now }),
      )
      .execute();
  }

  /** Deployments of this workload from earlier rollouts (and one of its plain name). */
  async function findOlds(
    api: KubernetesApi,
    ns: string,
    name: string,
    newName: string,
    signal: AbortSignal,
    application: string,
    environment: string,
  ) {
    const collection = collectionPath('apps/v1', 'Deployment', ns);
    const labelled = await api.list(collection, workloadSelector(name, application, environment), signal);
    const plain = await api.get(`${collection}/${encodeURIComponent(name)}`, signal);
    const all = new Map<string, KubeObject>();
    for (const d of [...labelled, ...(plain ? [plain] : [])]) all.set(d.metadata.name, d);
    all.delete(newName);
    return [...all.values()]
      .map(
        (d): OldVersion => ({
          name: d.metadata.name,
          replicas: Number(d.spec?.replicas ?? 1),
          ...(d.metadata.labels?.[Labels.version] ? { version: d.metadata.labels[Labels.version] } : {}),
          ...(d.metadata.annotations?.[Annotations.deploymentId]
            ? { deploymentId: d.metadata.annotations[Annotations.deploymentId] }
            : {}),
        }),
      )
      .sort((a, b) => b.replicas - a.replicas);
  }

  const deploymentPath = (ns: string, name: string) =>
    `${collectionPath('apps/v1', 'Deployment', ns)}/${encodeURIComponent(name)}`;
  const deploymentRef = (ns: string, name: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
  });

  async function waitAll(api: KubernetesApi, ns: string, names: string[], ctx: DriverContext): Promise<void> {
    for (const name of names) {
      await waitForRollout(api, deploymentRef(ns, name), {
        signal: ctx.signal,
        deadlineAt: ctx.deadlineAt,
        progress: ctx.progress,
        ...(options.watchSeconds ? { watchSeconds: options.watchSeconds } : {}),
      });
    }
  }

  /** Transient trouble (no agent, a 503) is tried again until the step is stopped. */
  async function retrying<T>(what: string, ctx: DriverContext, fn: () => Promise<T>): Promise<T> {
    let delay = 250;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        if (err instanceof TargetDriverError) throw err;
        if (err instanceof ManifestError) throw new TargetDriverError(err.message);
        if (err instanceof KubernetesApiError && !err.retryable) throw new TargetDriverError(err.message);
        if (ctx.deadlineAt !== undefined && Date.now() > ctx.deadlineAt)
          throw new TargetDriverError(
            `${what} did not succeed before deploymentConfig.timeout: ${(err as Error).message}`,
          );
        ctx.progress(`${what}: ${(err as Error).message}; trying again`);
        logger.warn({ err: (err as Error).message }, `${what} failed; trying again`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  async function deploy(target: TargetRef, mode: RolloutMode, ctx: DriverContext) {
    const account = target.account ?? '';
    const ns = target.namespace ?? 'default';
    const api = createKubernetesApi(dispatcher, account);
    const rendered = applyOrder(
      renderManifests({
        spec: ctx.spec,
        environment: target.environment,
        namespace: ns,
        deploymentId: target.deploymentId,
        version: target.version,
      }),
    ).map((o) => o.object);
    if (rendered.length === 0)
      throw new TargetDriverError(
        `no manifests apply to environment ${target.environment}: add manifests to the deploy file (a manifest with targets: [...] applies only to the environments it lists)`,
      );
    const blueGreen = mode === 'blueGreen' ? blueGreenOf(ctx.spec, target.environment) : undefined;
    let record = await load(target.deploymentId, target.environment);
    if (!record) {
      const workloads: Workload[] = [];
      for (const d of rendered.filter((o) => o.kind === 'Deployment')) {
        const newName = mode === 'replace' ? d.metadata.name : versionedName(d.metadata.name, target.version);
        const olds = await findOlds(
          api,
          ns,
          d.metadata.name,
          mode === 'replace' ? d.metadata.name : newName,
          ctx.signal,
          ctx.spec.application,
          target.environment,
        );
        workloads.push({ name: d.metadata.name, newName, total: Number(d.spec?.replicas ?? 1), olds });
      }
      const touched = [
        ...deployObjects(rendered, mode, target.version, workloads, undefined).map((o) => ({
          path: objectPath(o),
          describe: describeObject(o),
        })),
        ...trafficObjects(
          ctx.spec,
          target.environment,
          ns,
          { version: target.version, deploymentId: target.deploymentId, workloads },
          0,
        ).map((o) => ({
          path: objectPath(o),
          describe: describeObject(o),
        })),
        // The active Service changes at moveTraffic, whether the manifests or the cluster hold it.
        ...(blueGreen
          ? [
              {
                path: `${collectionPath('v1', 'Service', ns)}/${encodeURIComponent(blueGreen.activeService)}`,
                describe: `Service ${ns}/${blueGreen.activeService}`,
              },
            ]
          : []),
        ...workloads.flatMap((w) =>
          w.olds.map((o) => ({ path: deploymentPath(ns, o.name), describe: `Deployment ${ns}/${o.name}` })),
        ),
      ];
      const seen = new Set<string>();
      const snapshot: RolloutRecord['snapshot'] = [];
      for (const t of touched) {
        if (seen.has(t.path)) continue;
        seen.add(t.path);
        const before = await api.get(t.path, ctx.signal);
        snapshot.push({ ...t, before: before ?? null });
      }
      record = {
        account,
        namespace: ns,
        mode,
        version: target.version,
        deploymentId: target.deploymentId,
        workloads,
        snapshot,
        weight: 0,
        trafficMoved: false,
        oldShutDown: false,
        rolledBack: false,
      };
      // Written before anything is applied: a rollback after a crash still knows what was there.
      await save(target, record);
    }
    const traffic = trafficObjects(ctx.spec, target.environment, ns, record, mode === 'canary' ? 0 : 100);
    // Objects trafficManagement sets (a VirtualService's weights) are applied once, as set.
    const toApply = withoutReplaced(
      deployObjects(rendered, mode, target.version, record.workloads, blueGreen),
      traffic,
    );
    let n = 0;
    for (const obj of toApply) {
      ctx.progress(`applying ${describeObject(obj)} (${++n}/${toApply.length})`);
      await api.apply(objectPath(obj), obj, { signal: ctx.signal });
    }
    for (const obj of traffic) await api.apply(objectPath(obj), obj, { signal: ctx.signal });
    await waitAll(
      api,
      ns,
      record.workloads.map((w) => w.newName),
      ctx,
    );
    if (mode === 'replace') {
      for (const w of record.workloads)
        for (const old of w.olds) await api.delete(deploymentPath(ns, old.name), ctx.signal);
      record.weight = 100;
      record.oldShutDown = true;
    } else {
      const anyOld = record.workloads.some((w) => w.olds.some((o) => o.replicas > 0));
      record.weight = anyOld ? 0 : 100;
      if (!anyOld) record.trafficMoved = true;
    }
    await save(target, record);
    return {
      message: `applied ${toApply.length + traffic.length} object(s) in namespace ${ns}${record.workloads.length ? `; ${record.workloads.map((w) => `${w.newName} available`).join(', ')}` : ''}`,
    };
  }

  async function setWeight(target: TargetRef, weight: number, ctx: DriverContext) {
    const record = await mustLoad(target);
    const api = createKubernetesApi(dispatcher, record.account);
    const ns = record.namespace;
    const parts: string[] = [];
    for (const w of record.workloads) {
      if (!w.olds.some((o) => o.replicas > 0)) {
        parts.push(`${w.newName} ${w.total}/${w.total} (no older version to split with)`);
        continue;
      }
      const newReplicas = weight >= 100 ? w.total : Math.min(w.total, Math.ceil((w.total * weight) / 100));
      const oldReplicas = w.total - newReplicas;
      await api.scale(deploymentPath(ns, w.newName), newReplicas, ctx.signal);
      w.olds.forEach((o, i) => {
        o.replicas = i === 0 ? oldReplicas : 0;
      });
      for (const o of w.olds) await api.scale(deploymentPath(ns, o.name), o.replicas, ctx.signal);
      parts.push(`${w.newName} ${newReplicas}, ${w.olds.map((o) => `${o.name} ${o.replicas}`).join(', ')}`);
    }
    record.weight = weight;
    for (const obj of trafficObjects(ctx.spec, target.environment, ns, record, weight))
      await api.apply(objectPath(obj), obj, { signal: ctx.signal });
    await save(target, record);
    await waitAll(
      api,
      ns,
      [
        ...record.workloads.map((w) => w.newName),
        ...record.workloads.flatMap((w) => w.olds.map((o) => o.name)),
      ],
      ctx,
    );
    return { message: `weight ${weight}: replicas ${parts.join('; ')}` };
  }

  async function moveTraffic(target: TargetRef, ctx: DriverContext) {
    const record = await mustLoad(target);
    const blueGreen = blueGreenOf(ctx.spec, target.environment);
    if (!blueGreen)
      throw new TargetDriverError(`environment ${target.environment} has no blue/green strategy`);
    const api = createKubernetesApi(dispatcher, record.account);
    const ns = record.namespace;
    const rendered = renderManifests({
      spec: ctx.spec,
      environment: target.environment,
      namespace: ns,
      deploymentId: target.deploymentId,
      version: target.version,
    }).map((o) => o.object);
    let service = rendered.find((o) => o.kind === 'Service' && o.metadata.name === blueGreen.activeService);
    let force = false;
    if (!service) {
      const path = `${collectionPath('v1', 'Service', ns)}/${encodeURIComponent(blueGreen.activeService)}`;
      const existing = await api.get(path, ctx.signal);
      if (!existing)
        throw new TargetDriverError(
          `blue/green activeService ${blueGreen.activeService} is neither in the manifests nor in namespace ${ns}: add the Service to the manifests`,
        );
      service = appliable(existing);
      // Switching its selector is Borealis's job now, whoever created the Service.
      force = true;
    }
    const pinned = pinnedService(service, target.version);
    await api.apply(objectPath(pinned), pinned, { force, signal: ctx.signal });
    record.trafficMoved = true;
    record.weight = 100;
    await save(target, record);
    return { message: `Service ${blueGreen.activeService} now selects ${Labels.version}=${target.version}` };
  }

  async function shutDownOld(target: TargetRef, ctx: DriverContext) {
    const record = await mustLoad(target);
    const api = createKubernetesApi(dispatcher, record.account);
    const removed: string[] = [];
    for (const w of record.workloads)
      for (const old of w.olds) {
        await api.delete(deploymentPath(record.namespace, old.name), ctx.signal);
        removed.push(old.name);
        old.replicas = 0;
      }
    record.oldShutDown = true;
    record.weight = 100;
    await save(target, record);
    return { message: removed.length ? `removed ${removed.join(', ')}` : 'no older version was running' };
  }

  async function rollback(target: TargetRef, ctx: DriverContext) {
    const record = await load(target.deploymentId, target.environment);
    if (!record) return { message: 'nothing had been applied; nothing to roll back' };
    const api = createKubernetesApi(dispatcher, record.account);
    const restored: string[] = [];
    const olds = new Set(record.workloads.flatMap((w) => w.olds.map((o) => o.name)));
    for (const entry of [...record.snapshot].reverse()) {
      if (entry.before === null) {
        await api.delete(entry.path, ctx.signal);
        restored.push(`deleted ${entry.describe}`);
        continue;
      }
      const current = await api.get(entry.path, ctx.signal);
      if (current && entry.before.kind === 'Deployment' && olds.has(entry.before.metadata.name)) {
        // Only its replicas changed: give them back without touching who owns the rest.
        await api.scale(entry.path, Number(entry.before.spec?.replicas ?? 1), ctx.signal);
      } else {
        await api.apply(entry.path, appliable(entry.before), { force: true, signal: ctx.signal });
      }
      restored.push(`restored ${entry.describe}`);
    }
    record.rolledBack = true;
    await save(target, record);
    return { message: restored.length ? restored.join('; ') : 'nothing to restore' };
  }

  async function mustLoad(target: TargetRef): Promise<RolloutRecord> {
    const record = await load(target.deploymentId, target.environment);
    if (!record)
      throw new TargetDriverError(
        `no rollout of ${target.deploymentId} in ${target.environment} was recorded: the deploy action must run first`,
      );
    return record;
  }

  return {
    name: KUBERNETES_DRIVER_NAME,
    record: load,
    async apply(target, op: DriverOp, context) {
      if (!context)
        throw new TargetDriverError('the kubernetes driver needs the deploy file (driver context)');
      if (!target.account)
        throw new TargetDriverError(
          `environment ${target.environment} has no account: name the agent that runs in its cluster (targets.${target.environment}.account)`,
        );
      const ctx = context;
      switch (op.op) {
        case 'deploy':
          return retrying(`deploy to ${target.environment}`, ctx, () => deploy(target, op.mode, ctx));
        case 'setWeight':
          return retrying(`setWeight ${op.weight}`, ctx, () => setWeight(target, op.weight, ctx));
        case 'moveTraffic':
          return retrying('move traffic', ctx, () => moveTraffic(target, ctx));
        case 'shutDownOld':
          return retrying('shut down the old version', ctx, () => shutDownOld(target, ctx));
        case 'exposeServices':
          return {
            message: `exposeServices (${op.services.join(', ')}) is not acted on by the kubernetes driver`,
          };
        case 'rollback':
          return retrying('roll back', ctx, () => rollback(target, ctx));
      }
    },
    async describe(application, environment): Promise<TargetView | undefined> {
      const row = await db
        .selectFrom('kubernetes_rollouts')
        .select(['state'])
        .where('application', '=', application)
        .where('environment', '=', environment)
        .orderBy('updated_at', 'desc')
        .executeTakeFirst();
      if (!row) return undefined;
      const record = JSON.parse(row.state) as RolloutRecord;
      return describeRecord(record);
    },
  };
}

/**
 * Earlier versions of one workload of this application in this environment (other applications
 * may run a `web` in the same namespace: never theirs).
 */
export function workloadSelector(name: string, application: string, environment: string): string {
  return `${Labels.workload}=${name},${Labels.application}=${labelValue(application)},${Labels.environment}=${labelValue(environment)}`;
}

/** The objects of `objects` that no object of `replacing` (same kind and name) stands for. */
export function withoutReplaced(objects: KubeObject[], replacing: KubeObject[]): KubeObject[] {
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
  const replaced = new Set(replacing.map(key));
  return objects.filter((o) => !replaced.has(key(o)));
}

/** Versions and replicas as people read them, from what the driver last set. */
export function describeRecord(record: RolloutRecord): TargetView {
  const versions: TargetVersion[] = [];
  const mineReplicas = record.rolledBack
    ? 0
    : record.workloads.reduce(
        (n, w) =>
          n +
          (w.olds.some((o) => o.replicas > 0) && record.mode === 'canary'
            ? w.total - w.olds.reduce((m, o) => m + o.replicas, 0)
            : w.total),
        0,
      );
  const byVersion = new Map<string, TargetVersion>();
  if (!record.oldShutDown || record.rolledBack) {
    for (const w of record.workloads)
      for (const o of w.olds) {
        const key = o.version ?? o.name;
        const v = byVersion.get(key) ?? {
          version: o.version ?? `(unlabelled: ${o.name})`,
          deploymentId: o.deploymentId ?? '',
          weight: 0,
          role: 'active' as const,
          replicas: 0,
          workloads: [],
        };
        v.replicas = (v.replicas ?? 0) + o.replicas;
        v.workloads = [...(v.workloads ?? []), o.name];
        byVersion.set(key, v);
      }
  }
  const olds = [...byVersion.values()];
  const newWeight = record.rolledBack ? 0 : olds.length === 0 ? 100 : record.weight;
  for (const v of olds) v.weight = olds.length ? Math.round((100 - newWeight) / olds.length) : 0;
  versions.push(...olds);
  if (!record.rolledBack)
    versions.push({
      version: record.version,
      deploymentId: record.deploymentId,
      weight: newWeight,
      role: newWeight === 100 ? 'active' : record.mode === 'blueGreen' ? 'preview' : 'canary',
      replicas: mineReplicas,
      workloads: record.workloads.map((w) => w.newName),
    });
  return {
    driver: KUBERNETES_DRIVER_NAME,
    versions,
    exposedServices: [],
    location: `namespace ${record.namespace} through agent ${record.account}`,
  };
}
