import type {
  DeploymentEnvironmentRow,
  DeploymentRow,
  DrivenEnvironmentRow,
  DrivenRow,
} from '../store/index.js';
import type { AdoptedRun } from '../webhooks/types.js';
import type { JudgmentOutcome } from './metric-provider.js';
import type { StoredSpec } from './target-driver.js';
import {
  type DeploymentState,
  type DeploymentStatus,
  type EnvironmentState,
  isFinal,
  type RunOutcome,
  type WebhookFact,
} from './types.js';

/**
 * A deployment this process drives: its stored state plus what it has learnt since (webhook
 * outcomes, driver acknowledgements, judgments). Everything in the "learnt" part can be lost in a
 * crash: it is asked again from the stored state.
 */
export interface LiveDeployment {
  id: string;
  application: string;
  spec: StoredSpec;
  context: Record<string, string>;
  createdBy: string;
  createdAt: number;
  state: DeploymentState;
  status: DeploymentStatus;
  /** Row version (optimistic concurrency). */
  version: number;
  /** Last event sequence number written. */
  seq: number;
  /** Environment rows as last written, to write only the ones that changed. */
  written: Map<string, string>;
  runs: Map<string, WebhookFact>;
  driverDone: Set<string>;
  /** Driver actions that failed for good, with the driver's message. */
  driverFailed: Map<string, string>;
  /** The latest progress line (or final line) of each driver action. */
  driverProgress: Map<string, string>;
  /** Driver actions in flight, to stop them when their step is cancelled. */
  driverAborts: Map<string, AbortController>;
  /** Work running outside the queue (driver actions), which `idle()` waits for too. */
  pending: Set<Promise<unknown>>;
  judgments: Map<string, JudgmentOutcome>;
  inFlight: Set<string>;
  /** Serialises everything done to this deployment. */
  queue: Promise<void>;
  /** How many functions are in the queue (run or waiting): 0 when it is idle. */
  queued: number;
  kickPending: boolean;
  /** Set when another replica took it over or it ended: stop driving. */
  dropped: boolean;
  /**
   * Set when it was parked (waiting, nothing in flight): the engine keeps only a `Parked` entry
   * and reloads the rest from the store when it wakes. A kick of this object wakes it by id.
   */
  parked: boolean;
}

/**
 * What stays in memory of a deployment driven here while it waits on something outside (a
 * callback, a person, a deadline): what a wake-up needs. Its spec, context and state are in the
 * store and are read again when it wakes; its webhook outcomes are read from the store too.
 */
export interface Parked {
  /** Row version when parked: the row must still have it when it wakes (else someone else wrote). */
  version: number;
  seq: number;
  /** Settled webhook runs known when parked (`recheck` wakes it when the store has more). */
  settled: number;
  /** Facts learnt in memory that the store does not hold (driver acknowledgements, verdicts). */
  learnt?: Learnt;
}

export type Learnt = Partial<
  Pick<LiveDeployment, 'driverDone' | 'driverFailed' | 'driverProgress' | 'judgments' | 'runs'>
>;

/** True when nothing is under way for it: it can be parked. */
export function isQuiet(live: LiveDeployment): boolean {
  return (
    !live.dropped &&
    !live.parked &&
    !live.kickPending &&
    live.queued === 0 &&
    live.pending.size === 0 &&
    live.inFlight.size === 0 &&
    live.driverAborts.size === 0
  );
}

/** The `Parked` entry of a quiet deployment (it keeps only what the store does not hold). */
export function parkedOf(live: LiveDeployment): Parked {
  let settled = 0;
  const learnt: Learnt = {};
  for (const [key, fact] of live.runs) {
    if (SETTLED.has(fact.status)) settled++;
    // A run that could not even be started has no row: the failure lives only here.
    if (fact.id === '') {
      learnt.runs ??= new Map();
      learnt.runs.set(key, fact);
    }
  }
  if (live.driverDone.size) learnt.driverDone = live.driverDone;
  if (live.driverFailed.size) learnt.driverFailed = live.driverFailed;
  if (live.driverProgress.size) learnt.driverProgress = live.driverProgress;
  if (live.judgments.size) learnt.judgments = live.judgments;
  const parked: Parked = { version: live.version, seq: live.seq, settled };
  if (Object.keys(learnt).length > 0) parked.learnt = learnt;
  return parked;
}

/** A parked deployment woken: its rows as read now, its runs from the store, what it had learnt. */
export function liveFromParked(
  parked: Parked,
  row: DeploymentRow,
  envRows: DeploymentEnvironmentRow[],
  runs: readonly RunOutcome[],
): LiveDeployment {
  const live = liveFromRows(row, envRows, parked.seq);
  const learnt = parked.learnt;
  if (learnt?.runs) for (const [key, fact] of learnt.runs) live.runs.set(key, fact);
  for (const run of runs) rememberRun(live, run);
  if (learnt?.driverDone) live.driverDone = learnt.driverDone;
  if (learnt?.driverFailed) live.driverFailed = learnt.driverFailed;
  if (learnt?.driverProgress) live.driverProgress = learnt.driverProgress;
  if (learnt?.judgments) live.judgments = learnt.judgments;
  return live;
}

export const factKey = (environment: string, location: string) => `${environment}\u0000${location}`;

/** Version label of what a deployment rolls out (the simulated driver shows it). */
export const versionOf = (deploymentId: string) => `v-${deploymentId.slice(0, 8)}`;

/** What the engine keeps of a webhook run (its outcome, not the request or the attempts). */
export function outcomeOf(run: AdoptedRun): RunOutcome {
  const outcome: RunOutcome = {
    deploymentId: run.deploymentId,
    environment: run.environment,
    location: run.location,
    id: run.id,
    status: run.status,
  };
  if (run.reason !== undefined) outcome.reason = run.reason;
  if (run.callback?.mdMessage !== undefined) outcome.mdMessage = run.callback.mdMessage;
  return outcome;
}

const SETTLED = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Records what is known of a run, never letting a stale unsettled answer (the return of a start
 * that raced its own settlement) replace a settled one. True when the run is settled.
 */
export function rememberRun(live: LiveDeployment, run: RunOutcome): boolean {
  const key = factKey(run.environment, run.location);
  const known = live.runs.get(key);
  if (known && SETTLED.has(known.status) && !SETTLED.has(run.status)) return false;
  const { deploymentId: _d, environment: _e, location: _l, ...fact } = run;
  live.runs.set(key, fact);
  return SETTLED.has(run.status);
}

export function liveFromRows(
  row: DrivenRow,
  envRows: readonly DrivenEnvironmentRow[],
  seq: number,
): LiveDeployment {
  const spec = JSON.parse(row.spec) as StoredSpec;
  const top = JSON.parse(row.state) as Omit<DeploymentState, 'environments'>;
  const environments: Record<string, EnvironmentState> = {};
  const written = new Map<string, string>();
  for (const e of envRows) {
    environments[e.name] = JSON.parse(e.state) as EnvironmentState;
    written.set(e.name, e.state);
  }
  return {
    id: row.id,
    application: row.application,
    spec,
    context: JSON.parse(row.context) as Record<string, string>,
    createdBy: row.created_by,
    createdAt: row.created_at,
    state: { ...top, environments },
    status: row.status as DeploymentStatus,
    version: row.version,
    seq,
    written,
    runs: new Map(),
    driverDone: new Set(),
    driverFailed: new Map(),
    driverProgress: new Map(),
    driverAborts: new Map(),
    pending: new Set(),
    judgments: new Map(),
    inFlight: new Set(),
    queue: Promise.resolve(),
    queued: 0,
    kickPending: false,
    dropped: false,
    parked: false,
  };
}

/** The deployment-level part of the state (the environments have rows of their own). */
export function topState(state: DeploymentState): string {
  const { environments: _environments, ...top } = state;
  return JSON.stringify(top);
}

export function envRow(deploymentId: string, env: EnvironmentState) {
  return {
    deployment_id: deploymentId,
    name: env.name,
    status: env.status,
    phase: env.phase,
    state: JSON.stringify(env),
    message: env.message ?? null,
    started_at: env.startedAt ?? null,
    finished_at: env.finishedAt ?? null,
  };
}

/** One line saying how it ended, from the first environment that did not succeed. */
export function summarise(state: DeploymentState, status: DeploymentStatus): string | null {
  if (!isFinal(status)) return null;
  if (status === 'SUCCEEDED') return 'every environment deployed';
  if (state.cancel) return `cancelled by ${state.cancel.by}: ${state.cancel.reason}`;
  const env =
    Object.values(state.environments).find((e) => e.status !== 'SUCCEEDED' && e.status !== 'CANCELLED') ??
    Object.values(state.environments).find((e) => e.status !== 'SUCCEEDED');
  return env ? `${env.name} ${env.status}: ${env.message ?? ''}`.trim() : null;
}
