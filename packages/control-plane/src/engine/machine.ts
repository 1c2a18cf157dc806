import type { DeploymentSpec, TargetSpec } from '@borealis/deploy-spec';
import {
  cancelItem,
  emit,
  isDone,
  isSettled,
  progressItem,
  type StepContext,
  startItem,
} from './item-lifecycle.js';
import {
  afterGroup,
  beforeGroup,
  type PlannedGroup,
  type PlannedItem,
  ROLLBACK_LOCATION,
  rolloutGroups,
  strategyOf,
  webhookRoute,
} from './plan.js';
import {
  type DeploymentState,
  type DeploymentStatus,
  type Effect,
  type EngineEvent,
  type EnvironmentState,
  type EnvironmentStatus,
  type Facts,
  isFinal,
  Phase,
} from './types.js';

export interface StepResult {
  state: DeploymentState;
  effects: Effect[];
  events: EngineEvent[];
  /** False when nothing moved: nothing needs to be written. */
  changed: boolean;
  status: DeploymentStatus;
  /** Earliest stored deadline still ahead (the scheduler's next wake-up), if any. */
  wakeAt: number | undefined;
}

/**
 * The engine's brain, and pure: from the spec, the stored state and what is known now (time,
 * webhook outcomes, driver acknowledgements), the next state, the events that describe the
 * change, and the effects to perform once it is stored. The engine writes the state BEFORE
 * acting on the effects, and every effect is idempotent, so a crash anywhere is recovered by
 * stepping again from the stored state.
 */
export function step(spec: DeploymentSpec, prev: DeploymentState, facts: Facts): StepResult {
  const state = structuredClone(prev);
  const ctx: StepContext = {
    facts,
    now: facts.now,
    effects: [],
    events: [],
    changes: 0,
    describeRoute: (env, item) => {
      const target = spec.targets[env];
      if (!target || item.step.type !== 'runWebhook') return undefined;
      const name = item.step.name;
      return webhookRoute(
        spec.webhooks.find((w) => w.name === name),
        target,
      );
    },
  };
  // Settling one item can start the next; loop until nothing moves (bounded, for safety).
  for (let round = 0; round < 100; round++) {
    const before = ctx.changes;
    applyCancellations(ctx, spec, state);
    for (const target of Object.values(spec.targets)) {
      const env = state.environments[target.name];
      if (env) stepEnvironment(ctx, spec, state, target, env);
    }
    if (ctx.changes === before) break;
  }
  const status = deploymentStatus(state);
  return {
    state,
    effects: dedupe(ctx.effects),
    events: ctx.events,
    changed: ctx.changes > 0,
    status,
    wakeAt: wakeAt(state),
  };
}

function dedupe(effects: Effect[]): Effect[] {
  const seen = new Set<string>();
  return effects.filter((e) => {
    const key = `${e.type}|${e.environment}|${e.location}|${e.type === 'judge' ? e.index : ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function applyCancellations(ctx: StepContext, spec: DeploymentSpec, state: DeploymentState): void {
  for (const env of Object.values(state.environments)) {
    if (env.phase === Phase.done || env.phase === Phase.rollingBack) continue;
    const request = state.cancel ?? state.cancelEnvironments?.[env.name];
    if (!request) continue;
    const reason = `cancelled by ${request.by}: ${request.reason}`;
    switch (env.phase) {
      case Phase.waiting:
      case Phase.beforeDeployment:
        finish(ctx, env, 'CANCELLED', `${reason}; ${env.name} was not deployed`);
        break;
      case Phase.strategy:
        startRollback(ctx, env, {
          status: 'CANCELLED',
          message: `${reason}; rolled back to the previous version`,
        });
        break;
      case Phase.afterDeployment:
        finish(
          ctx,
          env,
          'CANCELLED',
          `${reason}; ${env.name} keeps the new version (its afterDeployment checks were stopped)`,
        );
        break;
    }
  }
}

function stepEnvironment(
  ctx: StepContext,
  spec: DeploymentSpec,
  state: DeploymentState,
  target: TargetSpec,
  env: EnvironmentState,
): void {
  const opts = { honourManualRollback: false };
  switch (env.phase) {
    case Phase.waiting: {
      const deps = target.constraints.dependsOn
        .map((d) => state.environments[d])
        .filter((d) => d !== undefined);
      const broken = deps.find((d) => isFinal(d.status) && d.status !== 'SUCCEEDED');
      if (broken) {
        finish(
          ctx,
          env,
          'CANCELLED',
          `not started: ${broken.name}, which it depends on, ended ${broken.status}`,
        );
        return;
      }
      if (deps.every((d) => d.status === 'SUCCEEDED')) {
        env.phase = Phase.beforeDeployment;
        env.status = 'RUNNING';
        env.startedAt = ctx.now;
        emit(ctx, 'environment.started', env.name, { status: env.status });
      }
      return;
    }
    case Phase.beforeDeployment: {
      const outcome = runGroup(ctx, env, beforeGroup(target), opts);
      if (outcome.failed) {
        finish(
          ctx,
          env,
          'FAILED',
          `beforeDeployment failed at ${outcome.failed.location}: ${outcome.failed.message}; ${env.name} was not deployed`,
        );
      } else if (outcome.done) {
        env.phase = Phase.strategy;
        env.rolloutDeadlineAt = ctx.now + spec.deploymentConfig.timeout.ms;
        emit(ctx, 'environment.phase', env.name, {
          phase: env.phase,
          rolloutDeadlineAt: env.rolloutDeadlineAt,
        });
      }
      break;
    }
    case Phase.strategy: {
      if (env.rollbackRequestedBy) {
        startRollback(ctx, env, {
          status: 'ROLLED_BACK',
          message: `rolled back by ${env.rollbackRequestedBy}`,
        });
        return;
      }
      if (env.rolloutDeadlineAt !== undefined && ctx.now >= env.rolloutDeadlineAt && !awaitingPerson(env)) {
        const t = spec.deploymentConfig.timeout;
        const last = Object.values(env.items).find(
          (i) => i.kind === 'driver' && i.status === 'running',
        )?.message;
        startRollback(ctx, env, {
          status: 'ROLLED_BACK',
          message: `the rollout took longer than deploymentConfig.timeout (${t.duration} ${t.unit})${last ? ` (last seen: ${last})` : ''}; rolled back`,
        });
        return;
      }
      const strategy = strategyOf(spec, target);
      // A failed analysis follows its rollBackMode in any rollout (canary or blue/green); a
      // failed webhook always rolls back at once. (afterDeployment never rolls back.)
      const bg = { ...opts, honourManualRollback: true };
      const groups = rolloutGroups(strategy);
      for (const [index, group] of groups.entries()) {
        const outcome = runGroup(ctx, env, group, bg);
        if (outcome.failed) {
          startRollback(ctx, env, {
            status: 'ROLLED_BACK',
            message: `${group.name} failed at ${outcome.failed.location}: ${outcome.failed.message}; rolled back automatically`,
          });
          return;
        }
        if (!outcome.done) break;
        if (index === groups.length - 1) {
          env.phase = Phase.afterDeployment;
          emit(ctx, 'environment.deployed', env.name, { phase: env.phase });
        }
      }
      break;
    }
    case Phase.afterDeployment: {
      const outcome = runGroup(ctx, env, afterGroup(target), opts);
      if (outcome.failed) {
        finish(
          ctx,
          env,
          'FAILED',
          `afterDeployment failed at ${outcome.failed.location}: ${outcome.failed.message}; environments that depend on ${env.name} are cancelled, and ${env.name} was NOT rolled back (it keeps the new version)`,
        );
      } else if (outcome.done) {
        finish(ctx, env, 'SUCCEEDED', `${env.name} deployed`);
      }
      break;
    }
    case Phase.rollingBack: {
      const planned: PlannedItem = {
        location: ROLLBACK_LOCATION,
        step: { type: 'driver', op: { op: 'rollback' } },
      };
      const item = env.items[ROLLBACK_LOCATION] ?? startItem(ctx, env, planned);
      progressItem(ctx, env, planned, item, opts);
      if (isDone(item))
        finish(ctx, env, env.outcome?.status ?? 'ROLLED_BACK', env.outcome?.message ?? 'rolled back');
      else if (item.status === 'failed')
        finish(
          ctx,
          env,
          'FAILED',
          `${env.outcome?.message ?? 'rolling back'}; the rollback failed too, so ${env.name} may run a mix of versions: ${item.message ?? 'no reason given'}`,
        );
      return;
    }
    case Phase.done:
      return;
  }
  refreshStatus(ctx, env);
}

interface GroupOutcome {
  done: boolean;
  failed?: { location: string; message: string };
}

/** Runs a group: parallel ones settle at the first failure (siblings cancelled); sequential in order. */
function runGroup(
  ctx: StepContext,
  env: EnvironmentState,
  group: PlannedGroup,
  opts: Parameters<typeof progressItem>[4],
): GroupOutcome {
  for (const planned of group.items) {
    const item = env.items[planned.location] ?? startItem(ctx, env, planned);
    progressItem(ctx, env, planned, item, opts);
    if (item.status === 'failed') {
      const failed = { location: planned.location, message: item.message ?? item.status };
      for (const sibling of group.items) {
        const s = env.items[sibling.location];
        if (s && !isSettled(s)) cancelItem(ctx, env, sibling, s, `stopped: ${planned.location} failed`);
      }
      return { done: true, failed };
    }
    if (!group.parallel && !isDone(item)) return { done: false };
  }
  const done = group.items.every((p) => {
    const item = env.items[p.location];
    return item !== undefined && isDone(item);
  });
  return { done };
}

function startRollback(
  ctx: StepContext,
  env: EnvironmentState,
  outcome: { status: EnvironmentStatus; message: string },
): void {
  for (const item of Object.values(env.items))
    cancelItem(ctx, env, undefined, item, `stopped: ${outcome.message}`);
  env.phase = Phase.rollingBack;
  env.outcome = outcome;
  env.status = 'RUNNING';
  env.message = `rolling back: ${outcome.message}`;
  emit(ctx, 'environment.rollingBack', env.name, { message: outcome.message });
}

function finish(ctx: StepContext, env: EnvironmentState, status: EnvironmentStatus, message: string): void {
  for (const item of Object.values(env.items))
    cancelItem(ctx, env, undefined, item, `stopped: ${env.name} ended ${status}`);
  env.phase = Phase.done;
  env.status = status;
  env.message = message;
  env.finishedAt = ctx.now;
  delete env.rolloutDeadlineAt;
  emit(ctx, 'environment.finished', env.name, { status, message });
}

function awaitingPerson(env: EnvironmentState): boolean {
  return Object.values(env.items).some((i) => i.status === 'waiting' && i.awaiting !== undefined);
}

/** RUNNING, PAUSED (only timed pauses left) or AWAITING_APPROVAL (a person is asked). */
function refreshStatus(ctx: StepContext, env: EnvironmentState): void {
  if (env.phase === Phase.done || env.phase === Phase.waiting) return;
  const open = Object.values(env.items).filter((i) => !isSettled(i));
  let status: EnvironmentStatus = 'RUNNING';
  if (open.some((i) => i.awaiting !== undefined)) status = 'AWAITING_APPROVAL';
  else if (open.length > 0 && open.every((i) => i.kind === 'pause')) status = 'PAUSED';
  if (status !== env.status) {
    env.status = status;
    emit(ctx, 'environment.status', env.name, { status });
  }
}

export function deploymentStatus(state: DeploymentState): DeploymentStatus {
  const envs = Object.values(state.environments);
  if (envs.every((e) => isFinal(e.status))) {
    if (state.cancel) return 'CANCELLED';
    if (envs.every((e) => e.status === 'SUCCEEDED')) return 'SUCCEEDED';
    if (envs.some((e) => e.status === 'ROLLED_BACK')) return 'ROLLED_BACK';
    if (envs.some((e) => e.status === 'FAILED')) return 'FAILED';
    return 'CANCELLED';
  }
  if (envs.some((e) => e.status === 'AWAITING_APPROVAL')) return 'AWAITING_APPROVAL';
  if (envs.some((e) => e.status === 'RUNNING')) return 'RUNNING';
  if (envs.some((e) => e.status === 'PAUSED')) return 'PAUSED';
  return 'RUNNING';
}

function wakeAt(state: DeploymentState): number | undefined {
  let min: number | undefined;
  const consider = (t: number | undefined) => {
    if (t !== undefined && (min === undefined || t < min)) min = t;
  };
  for (const env of Object.values(state.environments)) {
    if (env.phase === Phase.done) continue;
    if (env.phase === Phase.strategy) consider(env.rolloutDeadlineAt);
    for (const item of Object.values(env.items)) {
      if (isSettled(item)) continue;
      consider(item.deadlineAt);
      if (item.kind === 'analysis' && item.status === 'running') consider(item.nextJudgmentAt);
    }
  }
  return min;
}

/** The initial state of a new deployment: every environment waiting for its dependencies. */
export function initialState(spec: DeploymentSpec): DeploymentState {
  const environments: Record<string, EnvironmentState> = {};
  for (const name of Object.keys(spec.targets)) {
    environments[name] = { name, status: 'PENDING', phase: Phase.waiting, items: {} };
  }
  return { environments };
}
