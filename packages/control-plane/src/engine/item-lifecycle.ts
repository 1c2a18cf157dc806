import type { AnalysisStep } from '@borealis/deploy-spec';
import type { JudgmentWindow } from './metric-provider.js';
import { describeStep, type PlannedItem } from './plan.js';
import type {
  DriverOp,
  Effect,
  EngineEvent,
  EnvironmentState,
  Facts,
  ItemState,
  JudgmentRecord,
} from './types.js';

/** The machine's scratchpad for one step: facts in, effects and events out. */
export interface StepContext {
  facts: Facts;
  now: number;
  effects: Effect[];
  events: EngineEvent[];
  changes: number;
  /** Extra detail for an item's events (e.g. which agent carries a webhook). */
  describeRoute(env: string, item: PlannedItem): string | undefined;
}

export function emit(
  ctx: StepContext,
  type: string,
  environment: string | undefined,
  data: Record<string, unknown>,
): void {
  ctx.changes++;
  ctx.events.push(environment === undefined ? { type, data } : { type, environment, data });
}

export const isDone = (item: ItemState): boolean => item.status === 'succeeded' || item.status === 'skipped';
export const isSettled = (item: ItemState): boolean => item.status !== 'running' && item.status !== 'waiting';

const unitMs = { seconds: 1_000, minutes: 60_000, hours: 3_600_000 } as const;
const analysisIntervalMs = (step: AnalysisStep) => Math.max(0, step.interval) * unitMs[step.units];

/** Starts an item: records it and asks for the effect that performs it. */
export function startItem(ctx: StepContext, env: EnvironmentState, planned: PlannedItem): ItemState {
  const { now } = ctx;
  const { location, step } = planned;
  let item: ItemState;
  switch (step.type) {
    case 'runWebhook':
      item = { location, kind: 'webhook', status: 'running', startedAt: now, message: 'calling the webhook' };
      ctx.effects.push({ type: 'startWebhook', environment: env.name, location, step });
      break;
    case 'pause':
      item = step.untilApproved
        ? {
            location,
            kind: 'approval',
            status: 'waiting',
            awaiting: 'approval',
            startedAt: now,
            message: 'waiting for a person to approve',
            ...(step.approvalExpiration ? { deadlineAt: now + step.approvalExpiration.ms } : {}),
          }
        : { location, kind: 'pause', status: 'waiting', startedAt: now, deadlineAt: now + step.duration.ms };
      break;
    case 'analysis':
      // The first run is due one interval in: its window needs the new version's metrics.
      item = {
        location,
        kind: 'analysis',
        status: 'running',
        startedAt: now,
        judgments: [],
        nextJudgmentAt: now + analysisIntervalMs(step),
        message: `judgment 1 of ${step.numberOfJudgmentRuns} due at ${new Date(now + analysisIntervalMs(step)).toISOString()}`,
      };
      break;
    case 'setWeight':
      item = driverItem(ctx, env, location, { op: 'setWeight', weight: step.weight });
      break;
    case 'exposeServices':
      item = driverItem(ctx, env, location, { op: 'exposeServices', services: step.services });
      break;
    case 'driver':
      item = driverItem(ctx, env, location, step.op);
      break;
  }
  env.items[location] = item;
  const via = ctx.describeRoute(env.name, planned);
  emit(ctx, 'item.started', env.name, {
    location,
    kind: item.kind,
    step: describeStep(step),
    status: item.status,
    ...(item.deadlineAt ? { deadlineAt: item.deadlineAt } : {}),
    ...(item.awaiting ? { awaiting: item.awaiting } : {}),
    ...(step.type === 'pause' && step.untilApproved && step.requiresRoles.length
      ? { requiresRoles: step.requiresRoles }
      : {}),
    ...(via ? { via } : {}),
    ...(item.message ? { message: item.message } : {}),
  });
  if (isSettled(item))
    emit(ctx, `item.${item.status}`, env.name, { location, step: describeStep(step), message: item.message });
  return item;
}

function driverItem(ctx: StepContext, env: EnvironmentState, location: string, op: DriverOp): ItemState {
  ctx.effects.push({ type: 'driver', environment: env.name, location, op });
  return { location, kind: 'driver', status: 'running', startedAt: ctx.now };
}

function awaitRollForward(item: ItemState): void {
  item.status = 'waiting';
  item.awaiting = 'rollForward';
  delete item.finishedAt;
  item.message = `${item.message ? `${item.message}; ` : ''}rollForwardMode is manual: waiting for a person to roll forward or roll back`;
}

/** Tells watchers an item now waits for a person (what it awaits, and why). */
function emitAwaiting(ctx: StepContext, envName: string, item: ItemState): void {
  emit(ctx, 'item.waiting', envName, {
    location: item.location,
    awaiting: item.awaiting,
    message: item.message,
  });
}

export function settleItem(
  ctx: StepContext,
  env: EnvironmentState,
  planned: PlannedItem,
  item: ItemState,
  status: ItemState['status'],
  message?: string,
): void {
  item.status = status;
  item.finishedAt = ctx.now;
  delete item.awaiting;
  if (message !== undefined) item.message = message;
  emit(ctx, `item.${status}`, env.name, {
    location: item.location,
    step: describeStep(planned.step),
    message: item.message,
  });
}

export interface ProgressOptions {
  /** Blue/green: a failed analysis with rollBackMode manual waits for a person instead of failing. */
  honourManualRollback: boolean;
}

/** Moves a started item forward with what is known now; re-asks for lost effects after a restart. */
export function progressItem(
  ctx: StepContext,
  env: EnvironmentState,
  planned: PlannedItem,
  item: ItemState,
  opts: ProgressOptions,
): void {
  if (isSettled(item)) return;
  const { facts, now } = ctx;
  const { step } = planned;
  switch (item.kind) {
    case 'webhook': {
      const run = facts.webhookRun(env.name, item.location);
      if (run === undefined) {
        // Started before a restart, or the start is still in flight: ask again (idempotent).
        if (step.type === 'runWebhook')
          ctx.effects.push({ type: 'startWebhook', environment: env.name, location: item.location, step });
        return;
      }
      if (run.status === 'succeeded')
        settleItem(ctx, env, planned, item, 'succeeded', run.mdMessage ?? 'callback: success');
      else if (run.status === 'failed' || run.status === 'cancelled') {
        const why =
          run.status === 'failed'
            ? `webhook failed: ${run.mdMessage ?? run.reason ?? 'callback: failure'}`
            : `webhook run was cancelled: ${run.reason ?? 'no reason given'}`;
        settleItem(ctx, env, planned, item, 'failed', why);
      } else if (run.status === 'awaiting_callback' && item.message !== 'waiting for the callback') {
        item.message = 'waiting for the callback';
        emit(ctx, 'item.waiting', env.name, {
          location: item.location,
          step: describeStep(step),
          message: item.message,
        });
      }
      return;
    }
    case 'pause':
      if (item.deadlineAt !== undefined && now >= item.deadlineAt)
        settleItem(ctx, env, planned, item, 'succeeded', 'pause over');
      return;
    case 'approval':
      if (item.awaiting === 'approval' && item.deadlineAt !== undefined && now >= item.deadlineAt) {
        // A failed constraint like any other: its list's failure rules apply (not deployed before,
        // rolled back during the rollout, dependents cancelled after).
        const expiration = step.type === 'pause' && step.untilApproved ? step.approvalExpiration : undefined;
        settleItem(
          ctx,
          env,
          planned,
          item,
          'failed',
          `the approval expired at ${new Date(item.deadlineAt).toISOString()}${expiration ? ` (approvalExpiration: ${expiration.duration} ${expiration.unit})` : ''} before anyone approved or rejected it`,
        );
      }
      return;
    case 'driver': {
      const said = facts.driverProgress(env.name, item.location);
      const failure = facts.driverFailure(env.name, item.location);
      if (facts.driverDone(env.name, item.location)) {
        settleItem(ctx, env, planned, item, 'succeeded', said);
        return;
      }
      if (failure !== undefined) {
        settleItem(ctx, env, planned, item, 'failed', failure);
        return;
      }
      if (said !== undefined && said !== item.message) {
        item.message = said;
        emit(ctx, 'item.progress', env.name, {
          location: item.location,
          step: describeStep(step),
          message: said,
        });
      }
      if (step.type === 'driver' || step.type === 'setWeight' || step.type === 'exposeServices') {
        const op =
          step.type === 'driver'
            ? step.op
            : step.type === 'setWeight'
              ? ({ op: 'setWeight', weight: step.weight } as const)
              : ({ op: 'exposeServices', services: step.services } as const);
        ctx.effects.push({ type: 'driver', environment: env.name, location: item.location, op });
      }
      return;
    }
    case 'analysis':
      if (step.type === 'analysis') progressAnalysis(ctx, env, planned, item, step, opts);
      return;
  }
}

function progressAnalysis(
  ctx: StepContext,
  env: EnvironmentState,
  planned: PlannedItem,
  item: ItemState,
  step: AnalysisStep,
  opts: ProgressOptions,
): void {
  if (item.status === 'waiting') return; // a person decides
  const judgments = item.judgments ?? [];
  item.judgments = judgments;
  const interval = analysisIntervalMs(step);
  const total = Math.max(1, step.numberOfJudgmentRuns);
  // The schedule is stored: after a restart the next run is the one after the last recorded,
  // due when it was due, asking about the same window (no run lost, none made twice).
  const scheduledAt = item.nextJudgmentAt ?? item.startedAt + interval * (judgments.length + 1);
  if (ctx.now < scheduledAt) return;
  const index = judgments.length;
  const window = judgmentWindow(step, item.startedAt, scheduledAt, interval);
  const result = ctx.facts.judgment(env.name, item.location, index);
  if (!result) {
    ctx.effects.push({ type: 'judge', environment: env.name, location: item.location, index, step, window });
    return;
  }
  const record: JudgmentRecord = {
    index,
    scheduledAt,
    at: ctx.now,
    window,
    passed: result.passed,
    message: result.message,
    queries: result.queries,
  };
  judgments.push(record);
  emit(ctx, 'item.judgment', env.name, {
    location: item.location,
    index,
    of: total,
    passed: result.passed,
    message: result.message,
    window,
    queries: result.queries,
  });
  const failed = judgments.filter((j) => !j.passed);
  const finishedRuns = judgments.length >= total;
  if (failed.length > 0 && (step.abortOnFailedJudgment === true || finishedRuns)) {
    const first = failed[0] as JudgmentRecord;
    const message =
      failed.length === 1
        ? `analysis failed judgment ${first.index + 1} of ${total}: ${first.message}`
        : `analysis failed ${failed.length} of ${judgments.length} judgment(s); the first, ${first.index + 1} of ${total}: ${first.message}`;
    delete item.nextJudgmentAt;
    if (opts.honourManualRollback && step.rollBackMode === 'manual') {
      item.status = 'waiting';
      item.awaiting = 'rollbackOrRollForward';
      item.message = `${message}; rollBackMode is manual: waiting for a person to roll back or roll forward`;
      emitAwaiting(ctx, env.name, item);
      return;
    }
    settleItem(ctx, env, planned, item, 'failed', message);
    return;
  }
  if (finishedRuns) {
    delete item.nextJudgmentAt;
    const message = `analysis passed ${judgments.length} of ${total} judgment(s)`;
    if (step.rollForwardMode === 'manual') {
      item.message = message;
      awaitRollForward(item);
      emitAwaiting(ctx, env.name, item);
      return;
    }
    settleItem(ctx, env, planned, item, 'succeeded', message);
    return;
  }
  item.nextJudgmentAt = scheduledAt + interval;
  item.message = `judgment ${judgments.length} of ${total} ${result.passed ? 'passed' : 'failed'}; judgment ${judgments.length + 1} due at ${new Date(item.nextJudgmentAt).toISOString()}`;
}

/**
 * The span a run asks about: `growing` (the default) from the step's start to the run's due
 * time; `sliding` the last interval only.
 */
export function judgmentWindow(
  step: AnalysisStep,
  startedAt: number,
  scheduledAt: number,
  interval: number,
): JudgmentWindow {
  return step.lookbackMethod === 'sliding'
    ? { start: scheduledAt - interval, end: scheduledAt }
    : { start: startedAt, end: scheduledAt };
}

/** Stops an item that is no longer needed (a sibling failed, the deployment was cancelled). */
export function cancelItem(
  ctx: StepContext,
  env: EnvironmentState,
  planned: PlannedItem | undefined,
  item: ItemState,
  reason: string,
): void {
  if (isSettled(item)) return;
  if (item.kind === 'webhook')
    ctx.effects.push({ type: 'cancelWebhook', environment: env.name, location: item.location, reason });
  if (item.kind === 'driver')
    ctx.effects.push({ type: 'cancelDriver', environment: env.name, location: item.location });
  item.status = 'cancelled';
  item.finishedAt = ctx.now;
  delete item.awaiting;
  item.message = reason;
  emit(ctx, 'item.cancelled', env.name, {
    location: item.location,
    ...(planned ? { step: describeStep(planned.step) } : {}),
    message: reason,
  });
}
