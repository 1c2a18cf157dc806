import {
  appliable,
  blueGreenOf,
  collectionPath,
  Labels,
  objectPath,
  pinnedService,
  renderManifests,
  trafficObjects,
} from '@borealis/deploy-spec';
import { type DriverContext, TargetDriverError, type TargetRef } from '../engine/target-driver.js';
import { createKubernetesApi } from './api-client.js';
import { deploymentPath, type StepKit } from './step-kit.js';

/** The steps that move a running rollout along: canary weights, the blue/green switch, the old version's end. */

/** Canary: splits each workload's replicas between the new and the old version, and the traffic objects with them. */
export async function setWeight(kit: StepKit, target: TargetRef, weight: number, ctx: DriverContext) {
  const record = await kit.records.mustLoad(target);
  const api = createKubernetesApi(kit.dispatcher, record.account);
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
  await kit.records.save(target, record);
  await kit.waitAll(
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

/** Blue/green: points the active Service at the new version. */
export async function moveTraffic(kit: StepKit, target: TargetRef, ctx: DriverContext) {
  const record = await kit.records.mustLoad(target);
  const blueGreen = blueGreenOf(ctx.spec, target.environment);
  if (!blueGreen) throw new TargetDriverError(`environment ${target.environment} has no blue/green strategy`);
  const api = createKubernetesApi(kit.dispatcher, record.account);
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
  await kit.records.save(target, record);
  return { message: `Service ${blueGreen.activeService} now selects ${Labels.version}=${target.version}` };
}

/** Removes the older versions' Deployments once the new one carries everything. */
export async function shutDownOld(kit: StepKit, target: TargetRef, ctx: DriverContext) {
  const record = await kit.records.mustLoad(target);
  const api = createKubernetesApi(kit.dispatcher, record.account);
  const removed: string[] = [];
  for (const w of record.workloads)
    for (const old of w.olds) {
      await api.delete(deploymentPath(record.namespace, old.name), ctx.signal);
      removed.push(old.name);
      old.replicas = 0;
    }
  record.oldShutDown = true;
  record.weight = 100;
  await kit.records.save(target, record);
  return { message: removed.length ? `removed ${removed.join(', ')}` : 'no older version was running' };
}
