import { collectionPath, type KubeObject, objectPath } from '@borealis/deploy-spec';
import { TargetDriverError } from '../engine/target-driver.js';
import type { KubernetesApi } from './api-client.js';

export interface RolloutState {
  done: boolean;
  /** Set when the API says the rollout cannot finish (ProgressDeadlineExceeded). */
  failed?: string;
  /** For people: `web-v-1a2b: 2/4 updated, 1/4 available`. */
  progress: string;
  replicas: number;
  available: number;
}

/**
 * Where a Deployment's rollout stands, read the way `kubectl rollout status` reads it: the
 * controller must have observed the latest generation, every replica must run the new template
 * and be available, old replicas must be gone; `Progressing=False` with `ProgressDeadlineExceeded`
 * means it will not finish by itself.
 */
export function rolloutState(d: KubeObject): RolloutState {
  const name = String(d.metadata?.name);
  const desired = Number(d.spec?.replicas ?? 1);
  const st = d.status ?? {};
  const updated = Number(st.updatedReplicas ?? 0);
  const total = Number(st.replicas ?? 0);
  const available = Number(st.availableReplicas ?? 0);
  const base = { replicas: desired, available };
  const conditions: KubeObject[] = Array.isArray(st.conditions) ? st.conditions : [];
  const progressing = conditions.find((c) => c.type === 'Progressing');
  if (Number(st.observedGeneration ?? 0) < Number(d.metadata?.generation ?? 0))
    return {
      ...base,
      done: false,
      progress: `${name}: waiting for the controller to see generation ${d.metadata.generation}`,
    };
  const counts = `${updated}/${desired} updated, ${available}/${desired} available`;
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded')
    return {
      ...base,
      done: false,
      failed: `Deployment ${name}: ${progressing.reason}: ${progressing.message ?? ''} (${counts})`,
      progress: `${name}: ${counts}`,
    };
  if (updated < desired) return { ...base, done: false, progress: `${name}: ${counts}` };
  if (total > updated)
    return {
      ...base,
      done: false,
      progress: `${name}: ${counts}, ${total - updated} old replica(s) terminating`,
    };
  if (available < desired) return { ...base, done: false, progress: `${name}: ${counts}` };
  return { ...base, done: true, progress: `${name}: ${desired}/${desired} available` };
}

export interface WaitOptions {
  signal: AbortSignal;
  deadlineAt: number | undefined;
  progress(message: string): void;
  /** How long one watch stays open before it is re-established. */
  watchSeconds?: number;
}

/** Watches a Deployment until its rollout is done; fails with the API's reason if it cannot be. */
export async function waitForRollout(
  api: KubernetesApi,
  deployment: KubeObject,
  opts: WaitOptions,
): Promise<RolloutState> {
  const name = String(deployment.metadata.name);
  const namespace = String(deployment.metadata.namespace);
  const path = objectPath(deployment);
  const collection = collectionPath('apps/v1', 'Deployment', namespace);
  let last: RolloutState | undefined;
  for (;;) {
    if (opts.signal.aborted) throw opts.signal.reason ?? new Error('aborted');
    const current = await api.get(path, opts.signal);
    if (!current)
      throw new TargetDriverError(
        `Deployment ${namespace}/${name} disappeared while Borealis waited for its rollout (deleted by someone else?)`,
      );
    let state = rolloutState(current);
    const report = (s: RolloutState) => {
      if (s.progress !== last?.progress) opts.progress(s.progress);
      last = s;
    };
    report(state);
    if (state.failed) throw new TargetDriverError(state.failed);
    if (state.done) return state;
    const remaining = opts.deadlineAt === undefined ? 300 : Math.ceil((opts.deadlineAt - Date.now()) / 1000);
    if (remaining <= 0)
      throw new TargetDriverError(
        `Deployment ${namespace}/${name} did not become available within deploymentConfig.timeout (${state.progress})`,
      );
    let deleted = false;
    await api.watch(
      collection,
      name,
      String(current.metadata.resourceVersion),
      Math.max(1, Math.min(remaining, opts.watchSeconds ?? 300)),
      (type, obj) => {
        if (type === 'DELETED') {
          deleted = true;
          return true;
        }
        state = rolloutState(obj);
        report(state);
        return state.done || state.failed !== undefined;
      },
      opts.signal,
    );
    // What the watch saw is the answer; only a watch that ended without one reads again.
    if (state.failed) throw new TargetDriverError(state.failed);
    if (state.done) return state;
    if (deleted)
      throw new TargetDriverError(
        `Deployment ${namespace}/${name} was deleted while Borealis waited for its rollout (by someone else?)`,
      );
  }
}
