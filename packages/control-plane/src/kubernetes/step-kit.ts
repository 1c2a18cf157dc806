import { collectionPath, type KubeObject } from '@borealis/deploy-spec';
import type { DriverContext } from '../engine/target-driver.js';
import type { Dispatcher } from '../relay/index.js';
import type { KubernetesApi } from './api-client.js';
import { waitForRollout } from './rollout.js';
import type { RolloutRecords } from './rollout-record.js';

/** What every step of a rollout (apply, weights, traffic, rollback) works with. */
export interface StepKit {
  dispatcher: Dispatcher;
  records: RolloutRecords;
  /** Waits, one after the other, until each named Deployment of `ns` has rolled out. */
  waitAll(api: KubernetesApi, ns: string, names: string[], ctx: DriverContext): Promise<void>;
}

export function createStepKit(options: {
  dispatcher: Dispatcher;
  records: RolloutRecords;
  /** Longest single watch before it is re-established (tests shorten it). */
  watchSeconds?: number | undefined;
}): StepKit {
  return {
    dispatcher: options.dispatcher,
    records: options.records,
    async waitAll(api: KubernetesApi, ns: string, names: string[], ctx: DriverContext) {
      for (const name of names) {
        await waitForRollout(api, deploymentRef(ns, name), {
          signal: ctx.signal,
          deadlineAt: ctx.deadlineAt,
          progress: ctx.progress,
          ...(options.watchSeconds ? { watchSeconds: options.watchSeconds } : {}),
        });
      }
    },
  };
}

export const deploymentPath = (ns: string, name: string): string =>
  `${collectionPath('apps/v1', 'Deployment', ns)}/${encodeURIComponent(name)}`;

const deploymentRef = (ns: string, name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
});
