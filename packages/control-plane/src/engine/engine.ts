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
import {
  factKey,
  isQuiet,
  type LiveDeployment,
  liveFromParked,
  outcomeOf,
  type Parked,
  parkedOf,
  rememberRun,
} from './live-deployment.js';
import { type StepResult, step } from './machine.js';
import type { MetricJudge } from './metric-provider.js';
import { createResumer } from './resume.js';
import { WakeScheduler } from './scheduler.js';
import { createSimulatedDriver } from './simulated-driver.js';
import { buildView, listEntryOf } from './status-view.js';
import type { TargetDriver } from './target-driver.js';
import { createTransitionWriter, toStored } from './transition-writer.js';
import {
  type DeploymentStatus,
  type Facts,
  isFinal,
  type RunOutcome,
  type RunOutcomes,
  type StartInput,
  type StoredEvent,
} from './types.js';

const SETTLED_RUN = new Set(['succeeded', 'failed', 'cancelled']);

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
 * then its effects are performed. Admission, leases, transition writing, effects, people's
 * decisions and resuming at start-up each live in their own file; this one wires them and drives.
 */
export function createEngine(options: EngineOptions): Engine {
  const { store, webhooks, logger, replicaId: owner, leaseMs } = options;
  const clock = options.clock ?? Date.now;
  const repo = store.deployments;
  const driver = options.driver ?? createSimulatedDriver(store.simulatedTargets);
  const lives = new Map<string, LiveDeployment>();
  // Deployments driven here that wait with nothing under way: only what a wake-up needs stays in
  // memory (a few numbers); their spec, context and state are read again when they wake.
  const parked = new Map<string, Parked>();
  const waking = new Map<string, Promise<LiveDeployment | undefined>>();
  const scheduler = new WakeScheduler((id) => {
    const live = lives.get(id);
    if (live) kick(live);
    else if (parked.has(id)) wakeAndKick(id);
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
    drives: (id) => lives.has(id) || parked.has(id),
    wake: (id) => wake(id),
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
    driveNew: leases.driveNew,
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
  const resume = createResumer({
    repo,
    pages: store.deploymentPages,
    webhooks,
    owner,
    leaseMs,
    clock,
    logger,
    lives,
    parked,
    scheduler,
    writer,
    facts,
    kick,
    enqueue,
    act,
    advance,
    resumed: () => leases.resumed(),
    closed: isClosed,
  });

  // The one way a run's outcome arrives: moves the deployment on when the run settled.
  const outcomes: RunOutcomes = options.runOutcomes ?? {
    subscribe: (listener) => webhooks.onSettled((run) => listener(outcomeOf(run))),
  };
  outcomes.subscribe((outcome) => {
    const live = lives.get(outcome.deploymentId);
    if (live) {
      if (!live.dropped && rememberRun(live, outcome)) kick(live);
      return;
    }
    // Parked: the outcome is in the store, read again on waking; it is handed over too, in case
    // the read raced the write that settled it.
    if (parked.has(outcome.deploymentId) && SETTLED_RUN.has(outcome.status))
      wakeAndKick(outcome.deploymentId, outcome);
  });

  /** Keeps only what a wake-up needs of a deployment with nothing under way. */
  function park(live: LiveDeployment): void {
    if (!isQuiet(live) || closed || lives.get(live.id) !== live) return;
    live.parked = true;
    lives.delete(live.id);
    parked.set(live.id, parkedOf(live));
  }

  /** The driven deployment `id`, read again from the store if it was parked. */
  function wake(id: string): Promise<LiveDeployment | undefined> {
    const live = lives.get(id);
    if (live) return Promise.resolve(live);
    const known = waking.get(id);
    if (known) return known;
    const entry = parked.get(id);
    if (!entry) return Promise.resolve(undefined);
    const woken = rehydrate(id, entry).finally(() => waking.delete(id));
    waking.set(id, woken);
    return woken;
  }

  async function rehydrate(id: string, entry: Parked): Promise<LiveDeployment | undefined> {
    const found = await repo.get(id);
    const runs = (await webhooks.listForDeployment(id)).map(outcomeOf);
    if (parked.get(id) !== entry) return lives.get(id);
    parked.delete(id);
    const row = found?.row;
    if (!row || row.version !== entry.version || row.lease_owner !== owner || isFinal(row.status)) {
      // Taken over by another replica (our lease lapsed), or over: no longer driven here.
      scheduler.set(id, undefined);
      logger.warn({ deploymentId: id }, 'parked deployment changed elsewhere; no longer driving it');
      return undefined;
    }
    const live = liveFromParked(entry, row, found.environments, runs);
    lives.set(id, live);
    return live;
  }

  function wakeAndKick(id: string, outcome?: RunOutcome): void {
    wake(id).then(
      (live) => {
        if (!live) return;
        if (outcome && !live.dropped) rememberRun(live, outcome);
        kick(live);
      },
      (err: unknown) => {
        // The store failed: the wake-up is not lost, it is tried again (the outcome is stored).
        logger.error({ err, deploymentId: id }, 'waking a parked deployment failed; trying again shortly');
        if (parked.has(id)) scheduler.set(id, clock() + 1_000);
      },
    );
  }

  function enqueue(live: LiveDeployment, job: () => Promise<void>): Promise<void> {
    live.queued++;
    const fn = async () => {
      try {
        await job();
      } finally {
        live.queued--;
      }
    };
    const next = live.queue.then(fn, fn);
    live.queue = next.catch((err: unknown) => {
      logger.error(
        { err, deploymentId: live.id },
        'engine step failed; it will be retried at the next wake-up',
      );
      scheduler.set(live.id, clock() + 1_000);
    });
    // Once its queue is idle with nothing under way, a waiting deployment is parked.
    void live.queue.then(() => park(live));
    return next;
  }

  function kick(live: LiveDeployment): void {
    if (live.parked) {
      // A kick of an object that was parked since (a late timer, say): wake it by id.
      if (parked.has(live.id)) wakeAndKick(live.id);
      return;
    }
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
      if (!(await act(live, result))) return;
    }
  }

  /** What follows a step once its transition (if any) is stored; true when worth stepping again. */
  async function act(live: LiveDeployment, result: StepResult): Promise<boolean> {
    scheduler.set(live.id, result.wakeAt);
    if (isFinal(result.status)) {
      // The last transition may still have things to stop (a sibling webhook, say).
      await effects.perform(live, result.effects);
      await finished(live);
      return false;
    }
    return effects.perform(live, result.effects);
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

    resume,

    async recheck(deploymentId) {
      let moved = 0;
      const asleep =
        deploymentId === undefined ? [...parked] : [[deploymentId, parked.get(deploymentId)] as const];
      for (const [id, entry] of asleep) {
        if (!entry || closed) continue;
        const runs = await webhooks.listForDeployment(id);
        const settled = runs.filter((r) => SETTLED_RUN.has(r.status)).length;
        if (settled > entry.settled && parked.get(id) === entry) {
          moved++;
          wakeAndKick(id);
        }
      }
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
        await Promise.all([...pending, ...[...waking.values()].map((w) => w.catch(() => undefined))]);
        const again = waking.size > 0 || [...lives.values()].some((l) => l.kickPending || l.pending.size > 0);
        if (!again) return;
      }
    },

    async close(closeOptions = {}) {
      closed = true;
      scheduler.close();
      for (const l of lives.values()) for (const c of l.driverAborts.values()) c.abort(new Error('closing'));
      await Promise.all([...waking.values()].map((w) => w.catch(() => undefined)));
      await Promise.all([...lives.values()].flatMap((l) => [l.queue, ...l.pending]));
      // Leases keep being renewed meanwhile: what is still in flight is ours until released.
      await closeOptions.beforeRelease?.();
      await leases.release();
      lives.clear();
      parked.clear();
    },
  };
}
