import type { KubeObject, OldVersion, RolloutMode, Workload } from '@borealis/deploy-spec';
import {
  TargetDriverError,
  type TargetRef,
  type TargetVersion,
  type TargetView,
} from '../engine/target-driver.js';
import type { KubernetesRolloutRepository } from '../store/index.js';

export type { OldVersion, RolloutMode, Workload } from '@borealis/deploy-spec';

export const KUBERNETES_DRIVER_NAME = 'kubernetes';

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

/** The records of rollouts, kept as JSON by the store (`store.kubernetesRollouts`). */
export interface RolloutRecords {
  load(deploymentId: string, environment: string): Promise<RolloutRecord | undefined>;
  save(target: TargetRef, record: RolloutRecord): Promise<void>;
  /** The record of a rollout whose deploy action ran; refuses clearly when it did not. */
  mustLoad(target: TargetRef): Promise<RolloutRecord>;
  /** The view of the latest rollout to this application's environment. */
  describe(application: string, environment: string): Promise<TargetView | undefined>;
}

export function createRolloutRecords(rollouts: KubernetesRolloutRepository): RolloutRecords {
  async function load(deploymentId: string, environment: string): Promise<RolloutRecord | undefined> {
    const state = await rollouts.get(deploymentId, environment);
    return state === undefined ? undefined : (JSON.parse(state) as RolloutRecord);
  }
  return {
    load,
    async save(target, record) {
      await rollouts.put(target, JSON.stringify(record), Date.now());
    },
    async mustLoad(target) {
      const record = await load(target.deploymentId, target.environment);
      if (!record)
        throw new TargetDriverError(
          `no rollout of ${target.deploymentId} in ${target.environment} was recorded: the deploy action must run first`,
        );
      return record;
    },
    async describe(application, environment) {
      const state = await rollouts.latest(application, environment);
      return state === undefined ? undefined : describeRecord(JSON.parse(state) as RolloutRecord);
    },
  };
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
