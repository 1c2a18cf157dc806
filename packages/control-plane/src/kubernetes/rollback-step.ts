import { appliable } from '@borealis/deploy-spec';
import type { DriverContext, TargetRef } from '../engine/target-driver.js';
import { createKubernetesApi } from './api-client.js';
import type { StepKit } from './step-kit.js';

/** Puts back every object the rollout touched as its snapshot recorded it, newest change first. */
export async function rollback(kit: StepKit, target: TargetRef, ctx: DriverContext) {
  const record = await kit.records.load(target.deploymentId, target.environment);
  if (!record) return { message: 'nothing had been applied; nothing to roll back' };
  const api = createKubernetesApi(kit.dispatcher, record.account);
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
  await kit.records.save(target, record);
  return { message: restored.length ? restored.join('; ') : 'nothing to restore' };
}
