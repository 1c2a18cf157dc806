import { formatDuration } from '@borealis/protocol';
import type { Logger } from 'pino';
import type { Store, WebhookRunPatch } from '../store/index.js';
import type { PreparedCall } from './prepare-request.js';
import { isUnsettled, WebhookRunStatus } from './types.js';

/**
 * What this process holds of the runs it drives: their deadline and retry timers, the calls in
 * flight, the prepared requests, and the background work `close()` waits for. Taking a run up
 * (at start, or adopted from a replica that died) arms its timers here; settling one forgets it.
 */

/** Moves an unsettled run to a final status exactly once; false if it had already settled. */
export type Settle = (
  runId: string,
  status: WebhookRunStatus,
  patch: WebhookRunPatch,
  opts?: { stopCall?: boolean },
) => Promise<boolean>;

/** The row fields `takeUp` reads. */
export interface RunToTakeUp {
  id: string;
  status: string;
  deadline_at: number;
  next_attempt_at: number | null;
}

export interface RunTimers {
  /** Calls in flight and agent waits, by run: aborting one stops it. */
  readonly inFlight: Map<string, AbortController>;
  /** Runs whose attempt this process is making now. */
  readonly driving: Set<string>;
  /** The prepared call of each run, kept across its retries (the token is in it). */
  readonly prepared: Map<string, PreparedCall>;
  /** Set by `close()`: nothing new is started or scheduled. */
  readonly closed: boolean;
  /** Set by a drain: calls in flight finish, no new attempt starts. */
  draining: boolean;
  /** Runs `fn` detached from the caller, but tracked so close() can wait for it. */
  inBackground(what: string, runId: string, fn: () => Promise<unknown>): void;
  /**
   * Drops a settled run's timers and in-memory state. A cancel or a deadline also stops a call
   * in flight; a callback does not: a fast receiver may call back before its answer to our call
   * has arrived, and that answer is still worth recording.
   */
  forget(runId: string, stopCall: boolean): void;
  armDeadline(runId: string, deadlineAt: number): void;
  scheduleAttempt(runId: string, at: number): void;
  /**
   * Makes an unsettled run this process's: expired if past its deadline (true), else its
   * deadline armed and, while pending, its call made (a scheduled retry keeps its time). Runs
   * already driven, scheduled or timed here are left as they are, so taking one up twice is
   * harmless.
   */
  takeUp(row: RunToTakeUp): Promise<boolean>;
  /** Fails a run past its deadline (true); false if it is settled or not past it. */
  expire(runId: string): Promise<boolean>;
  /** Resolves when the background work started so far has ended. */
  idle(): Promise<void>;
  /** Stops every timer and call, and waits for the background work. */
  close(): Promise<void>;
}

export interface RunTimersDeps {
  repo: Pick<Store['webhookRuns'], 'get'>;
  log: Logger;
  settle: Settle;
  /** Makes a pending run's next attempt (`attempt.ts`). */
  drive: (runId: string) => Promise<void>;
}

/** After the store failed under a run, look at it again this much later. */
export const STORE_RETRY_MS = 1_000;
/** setTimeout takes at most 2^31-1 ms; longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createRunTimers(deps: RunTimersDeps): RunTimers {
  const { repo, log } = deps;
  const retryTimers = new Map<string, NodeJS.Timeout>();
  const deadlineTimers = new Map<string, NodeJS.Timeout>();
  const background = new Set<Promise<unknown>>();
  let closed = false;

  const timers: RunTimers = {
    inFlight: new Map(),
    driving: new Set(),
    prepared: new Map(),
    get closed() {
      return closed;
    },
    draining: false,

    inBackground(what, runId, fn) {
      if (closed) return;
      const p = fn()
        .catch((err: unknown) => log.error({ runId, err: errorText(err) }, `webhook run: ${what} failed`))
        .finally(() => background.delete(p));
      background.add(p);
    },

    forget(runId, stopCall) {
      clearTimeout(retryTimers.get(runId));
      retryTimers.delete(runId);
      clearTimeout(deadlineTimers.get(runId));
      deadlineTimers.delete(runId);
      if (stopCall) {
        timers.inFlight.get(runId)?.abort();
        timers.inFlight.delete(runId);
      }
      timers.prepared.delete(runId);
    },

    armDeadline(runId, deadlineAt) {
      if (closed) return;
      clearTimeout(deadlineTimers.get(runId));
      const wait = Math.max(0, deadlineAt - Date.now());
      const timer = setTimeout(
        () => {
          deadlineTimers.delete(runId);
          if (Date.now() < deadlineAt) timers.armDeadline(runId, deadlineAt);
          else {
            timers.inBackground('deadline', runId, () =>
              timers.expire(runId).catch((err: unknown) => {
                // The store failed: the deadline still holds; try again shortly.
                timers.armDeadline(runId, Date.now() + STORE_RETRY_MS);
                throw err;
              }),
            );
          }
        },
        Math.min(wait, MAX_TIMER_MS),
      );
      timer.unref();
      deadlineTimers.set(runId, timer);
    },

    scheduleAttempt(runId, at) {
      if (closed) return;
      clearTimeout(retryTimers.get(runId));
      const timer = setTimeout(
        () => {
          retryTimers.delete(runId);
          timers.inBackground('attempt', runId, () => deps.drive(runId));
        },
        Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS),
      );
      timer.unref();
      retryTimers.set(runId, timer);
    },

    async takeUp(row) {
      if (row.deadline_at <= Date.now()) return timers.expire(row.id);
      if (!deadlineTimers.has(row.id)) timers.armDeadline(row.id, row.deadline_at);
      if (row.status !== WebhookRunStatus.pending) return false;
      if (timers.driving.has(row.id) || retryTimers.has(row.id) || timers.inFlight.has(row.id)) return false;
      if (row.next_attempt_at !== null) timers.scheduleAttempt(row.id, row.next_attempt_at);
      else timers.inBackground('attempt', row.id, () => deps.drive(row.id));
      return false;
    },

    async expire(runId) {
      const row = await repo.get(runId);
      if (!row || !isUnsettled(row.status) || row.deadline_at > Date.now()) return false;
      return deps.settle(runId, WebhookRunStatus.failed, {
        reason: `no callback within ${formatDuration(row.deadline_at - row.created_at)} (BOREALIS_CALLBACK_TIMEOUT)`,
        reason_code: 'BRL_ERR_WEBHOOK_CALLBACK_TIMEOUT',
      });
    },

    async idle() {
      await Promise.allSettled([...background]);
    },

    async close() {
      closed = true;
      for (const t of retryTimers.values()) clearTimeout(t);
      for (const t of deadlineTimers.values()) clearTimeout(t);
      retryTimers.clear();
      deadlineTimers.clear();
      for (const c of timers.inFlight.values()) c.abort();
      await timers.idle();
    },
  };
  return timers;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
