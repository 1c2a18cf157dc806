import type { DeploymentListEntry, DeploymentView } from '@borealis/deploy-spec';
import type { Logger } from 'pino';
import { auditView } from '../audit/index.js';
import type { Store } from '../store/index.js';
import type { WebhookService } from '../webhooks/types.js';
import { createAdmission } from './admission.js';
import { createDecisionRouter, type EnginePeers } from './decision-router.js';
import type { Decision } from './decisions.js';
import { createEffectRunner } from './effect-runner.js';
import { createLeaseKeeper } from './lease-keeper.js';
import { factKey, type LiveDeployment, outcomeOf, rememberRun } from './live-deployment.js';
import { step } from './machine.js';
import type { MetricJudge } from './metric-provider.js';
import { WakeScheduler } from './scheduler.js';
import { createSimulatedDriver } from './simulated-driver.js';
import { buildView, listEntryOf } from './status-view.js';
import type { TargetDriver } from './target-driver.js';
import { createTransitionWriter, toStored } from './transition-writer.js';
import {
  type DeploymentStatus,
  type Facts,
  isFinal,
  type RunOutcomes,
  type StartInput,
  type StoredEvent,
} from './types.js';

export interface EngineOptions {
  store: Store;
  webhooks: WebhookService;
  logger: Logger;
  /** Where versions run; default the `simulated` driver. */
  driver?: TargetDriver;
  /**
   * Judges `analysis` steps against the stored metric providers. Without one, every judgment run
   * fails saying so (an analysis never passes unjudged).
   */
  metricJudge?: MetricJudge;
  /** Stable id of this replica for leases (the server derives it from its configuration). */
  replicaId: string;
  /** How long a lease lasts without renewal (`BOREALIS_LEASE_TIME`). */
  leaseMs: number;
  clock?: () => number;
  /** Other replicas (scale-out): who to ask when a decision is for a deployment one of them drives. */
  peers?: EnginePeers;
  /**
   * Where run outcomes arrive (scale-out: the cluster's channel, fed by this replica's webhook
   * service and by the bus). Default: this process's webhook service alone.
   */
  runOutcomes?: RunOutcomes;
}

export interface DeploymentListFilter {
  application?: string;
  /** At most this many, newest first (default 100, at most 1000). */
  limit?: number;
  statuses?: readonly string[];
  /** Created at or after (epoch ms). */
  since?: number;
  /** Ids starting with this: lowercase hex digits and `-`. */
  idPrefix?: string;
}

export interface Engine {
  readonly driverName: string;
  /** Checks a parsed spec can run here (kind, webhook addresses), stores it and starts or queues it. */
  start(input: StartInput): Promise<{ deploymentId: string; status: DeploymentStatus }>;
  get(id: string): Promise<DeploymentView | undefined>;
  list(filter?: DeploymentListFilter): Promise<DeploymentListEntry[]>;
  /** A person's decision; refused with 409 when it does not fit what the environment does. */
  decide(id: string, decision: Omit<Decision, 'now'>): Promise<DeploymentView>;
  events(id: string, afterSeq: number): Promise<StoredEvent[]>;
  /** Live events of one deployment (after they are stored). */
  subscribe(id: string, listener: (event: StoredEvent, status: DeploymentStatus) => void): () => void;
  /** Every deployment's events as they are stored on this replica (metrics, lifecycle logs). */
  observe(listener: (deploymentId: string, event: StoredEvent, status: DeploymentStatus) => void): () => void;
  /** Re-drives every unfinished deployment from the store; call once after start. */
  resume(): Promise<{ resumed: number; durationMs: number }>;
  /**
   * Re-reads the webhook runs of the deployments this replica drives (or of `deploymentId` only)
   * and moves on those whose runs settled without it being told (outcomes lost while the cluster
   * bus was away). Resolves with how many deployments had news.
   */
  recheck(deploymentId?: string): Promise<number>;
  /** This replica's lease owner id. */
  readonly owner: string;
  /** Resolves when nothing is being processed (tests, benchmarks). */
  idle(): Promise<void>;
  /**
   * Stops driving (no new step starts; steps under way finish), runs `beforeRelease` (the drain
   * lets webhook calls in flight record their outcome there) while the leases are still held,
   * then releases the leases so another replica can take the deployments over at once.
   */
  close(options?: { beforeRelease?: () => Promise<void> }): Promise<void>;
}

/**
 * The driving loop: every deployment this replica drives has a queue; a kick (a wake-up, a fact
 * learnt, a decision) runs `advance` in it: the pure machine steps, the transition is written,
 * then its effects are performed. Admission, leases, transition writing, effects and people's
 * decisions each live in their own file; this one wires them and drives.
 */
export function createEngine(options: EngineOptions): Engine {
  const { store, webhooks, logger, replicaId: owner, leaseMs } = options;
  const clock = options.clock ?? Date.now;
  const repo = store.deployments;
  const driver = options.driver ?? createSimulatedDriver(store.simulatedTargets);
  const lives = new Map<string, LiveDeployment>();
  const scheduler = new WakeScheduler((id) => {
    const live = lives.get(id);
    if (live) kick(live);
  }, clock);
  let closed = false;
  const isClosed = () => closed;
  const leases = createLeaseKeeper({
    repo,
    webhooks,
    owner,
    leaseMs,
    clock,
    logger,
    lives,
    drive: (live) => kick(live),
    forget: (id) => scheduler.set(id, undefined),
    closed: isClosed,
  });
  const writer = createTransitionWriter({ store, owner, clock, logger, onLost: (live) => leases.drop(live) });
  const effects = createEffectRunner({ driver, webhooks, judge: options.metricJudge, logger, kick });
  const admission = createAdmission({
    store,
    repo,
    driver,
    webhooks,
    owner,
    leaseMs,
    clock,
    logger,
    load: leases.load,
    closed: isClosed,
  });
  const decideFor = createDecisionRouter({
    repo,
    owner,
    clock,
    peers: options.peers,
    lives,
    load: leases.load,
    enqueue,
    persist: writer.persist,
    advance,
    view,
  });

  // The one way a run's outcome arrives: moves the deployment on when the run settled.
  const outcomes: RunOutcomes = options.runOutcomes ?? {
    subscribe: (listener) => webhooks.onSettled((run) => listener(outcomeOf(run))),
  };
  outcomes.subscribe((outcome) => {
    const live = lives.get(outcome.deploymentId);
    if (!live || live.dropped) return;
    if (rememberRun(live, outcome)) kick(live);
  });

  function enqueue(live: LiveDeployment, fn: () => Promise<void>): Promise<void> {
    const next = live.queue.then(fn, fn);
    live.queue = next.catch((err: unknown) => {
      logger.error(
        { err, deploymentId: live.id },
        'engine step failed; it will be retried at the next wake-up',
      );
      scheduler.set(live.id, clock() + 1_000);
    });
    return next;
  }

  function kick(live: LiveDeployment): void {
    if (live.kickPending || live.dropped || closed) return;
    live.kickPending = true;
    void enqueue(live, async () => {
      live.kickPending = false;
      await advance(live);
    });
  }

  function facts(live: LiveDeployment): Facts {
    return {
      now: clock(),
      webhookRun: (env, loc) => live.runs.get(factKey(env, loc)),
      driverDone: (env, loc) => live.driverDone.has(factKey(env, loc)),
      driverFailure: (env, loc) => live.driverFailed.get(factKey(env, loc)),
      driverProgress: (env, loc) => live.driverProgress.get(factKey(env, loc)),
      judgment: (env, loc, i) => live.judgments.get(`${factKey(env, loc)}#${i}`),
    };
  }

  /** Step the machine, store, act; again while acting taught us something new. */
  async function advance(live: LiveDeployment): Promise<void> {
    for (let round = 0; round < 50 && !live.dropped && !closed; round++) {
      const result = step(live.spec, live.state, facts(live));
      if (result.changed) {
        const ok = await writer.persist(live, result.state, result.status, result.events, result.wakeAt);
        if (!ok) return;
      }
      scheduler.set(live.id, result.wakeAt);
      if (isFinal(result.status)) {
        // The last transition may still have things to stop (a sibling webhook, say).
        await effects.perform(live, result.effects);
        await finished(live);
        return;
      }
      const learnt = await effects.perform(live, result.effects);
      if (!learnt) return;
    }
  }

  async function finished(live: LiveDeployment): Promise<void> {
    leases.drop(live);
    logger.info(
      { deploymentId: live.id, application: live.application, status: live.status },
      'deployment finished',
    );
    await admission.promoteQueued(live.application);
  }

  async function view(id: string): Promise<DeploymentView | undefined> {
    const found = await repo.get(id);
    if (!found) return undefined;
    const runs = await webhooks.listForDeployment(id);
    const audit = (await repo.audit(id)).map(auditView);
    return buildView(found.row, found.environments, runs, driver, audit);
  }

  return {
    driverName: driver.name,
    owner,
    start: admission.start,
    get: view,
    decide: decideFor,
    observe: writer.observe,
    subscribe: writer.subscribe,

    async list(filter = {}) {
      const rows = await repo.list({
        limit: Math.min(filter.limit ?? 100, 1000),
        ...(filter.application ? { application: filter.application } : {}),
        ...(filter.statuses?.length ? { statuses: filter.statuses } : {}),
        ...(filter.since !== undefined ? { since: filter.since } : {}),
        ...(filter.idPrefix ? { idPrefix: filter.idPrefix } : {}),
      });
      const statuses = await repo.environmentStatuses(rows.map((r) => r.id));
      return rows.map((row) =>
        listEntryOf(
          row,
          statuses.filter((e) => e.deployment_id === row.id),
        ),
      );
    },

    async events(id, afterSeq) {
      return (await repo.events(id, afterSeq)).map(toStored);
    },

    async resume() {
      const began = Date.now();
      const ids = await repo.unfinishedIds();
      let resumed = 0;
      for (const id of ids) if (await leases.load(id)) resumed++;
      leases.resumed();
      logger.info({ resumed, durationMs: Date.now() - began }, 'deployments resumed');
      return { resumed, durationMs: Date.now() - began };
    },

    async recheck(deploymentId) {
      let moved = 0;
      const driven = deploymentId === undefined ? [...lives.values()] : [lives.get(deploymentId)];
      for (const live of driven) {
        if (!live || live.dropped || closed) continue;
        let news = false;
        for (const run of await webhooks.listForDeployment(live.id)) {
          const before = live.runs.get(factKey(run.environment, run.location))?.status;
          if (rememberRun(live, outcomeOf(run)) && before !== run.status) news = true;
        }
        if (news && !live.dropped) {
          moved++;
          kick(live);
        }
      }
      return moved;
    },

    async idle() {
      for (;;) {
        const pending = [...lives.values()].flatMap((l) => [l.queue, ...l.pending]);
        await Promise.all(pending);
        const again = [...lives.values()].some((l) => l.kickPending || l.pending.size > 0);
        if (!again) return;
      }
    },

    async close(closeOptions = {}) {
      closed = true;
      scheduler.close();
      for (const l of lives.values()) for (const c of l.driverAborts.values()) c.abort(new Error('closing'));
      await Promise.all([...lives.values()].flatMap((l) => [l.queue, ...l.pending]));
      // Leases keep being renewed meanwhile: what is still in flight is ours until released.
      await closeOptions.beforeRelease?.();
      await leases.release();
      lives.clear();
    },
  };
}
