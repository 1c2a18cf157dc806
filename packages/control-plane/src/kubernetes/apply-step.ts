import {
  Annotations,
  applyOrder,
  blueGreenOf,
  collectionPath,
  deployObjects,
  describeObject,
  type KubeObject,
  Labels,
  objectPath,
  renderManifests,
  trafficObjects,
  versionedName,
  withoutReplaced,
  workloadSelector,
} from '@borealis/deploy-spec';
import { type DriverContext, TargetDriverError, type TargetRef } from '../engine/target-driver.js';
import { createKubernetesApi, type KubernetesApi } from './api-client.js';
import type { OldVersion, RolloutMode, RolloutRecord, Workload } from './rollout-record.js';
import { deploymentPath, type StepKit } from './step-kit.js';

/**
 * The deploy action: finds the versions already running, records what every touched object was
 * before (so a rollback after a crash still knows), applies the manifests and waits for the
 * rollout. Canary and blue/green start the new version beside the old one.
 */
export async function applyDeploy(kit: StepKit, target: TargetRef, mode: RolloutMode, ctx: DriverContext) {
  const account = target.account ?? '';
  const ns = target.namespace ?? 'default';
  const api = createKubernetesApi(kit.dispatcher, account);
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
  let record = await kit.records.load(target.deploymentId, target.environment);
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
    await kit.records.save(target, record);
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
  await kit.waitAll(
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
  await kit.records.save(target, record);
  return {
    message: `applied ${toApply.length + traffic.length} object(s) in namespace ${ns}${record.workloads.length ? `; ${record.workloads.map((w) => `${w.newName} available`).join(', ')}` : ''}`,
  };
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
