import { type BackoffOptions, backoffDelay, parseRetryAfter } from './backoff.js';

/**
 * What follows from one attempt, decided without side effects: the endpoint's answer or the
 * reason the call failed, and where the run is in its retries, in; one of five outcomes out.
 * `attempt.ts` records the attempt and carries the outcome out; `attempt-outcome.test.ts` holds
 * the rules as a table.
 *
 * - 2xx: the run waits for its callback, or succeeds now when the webhook has `disableCallback`.
 * - 5xx or 429 while retries are left: retry after `Retry-After` (capped), else after the backoff.
 * - any other answer, or 5xx/429 on the last attempt: fail (BRL_ERR_WEBHOOK_HTTP_STATUS).
 * - the call was stopped (a cancel, the deadline): stopped; whoever stopped it settled the run.
 * - an error marked retryable while retries are left: retry after the backoff; else fail with its code.
 */

export interface AttemptFacts {
  /** The endpoint answered (an answer is judged even if the run was stopped meanwhile). */
  answer?: {
    status: number;
    retryAfter?: string;
    /** The start of the answer's body, secrets already masked. */
    bodyStart: string;
  };
  /** The call could not be made or was refused; `message` has secrets masked. */
  error?: { code: string; message: string; retryable?: boolean };
  /** The call was stopped in flight (a cancel, the deadline) and did not answer. */
  cancelled: boolean;
  /** 1-based: the attempt just made. */
  attempt: number;
  /** The webhook's `retryCount`: how many attempts may follow the first. */
  retryCount: number;
  disableCallback: boolean;
  /** The URL as people may see it (secrets masked), for reasons. */
  displayUrl: string;
  backoff: BackoffOptions;
  /** Now, in epoch ms: an HTTP-date Retry-After counts from it. */
  now: number;
}

export type AttemptOutcome =
  | { kind: 'await-callback' }
  | { kind: 'succeed' }
  | { kind: 'retry'; delayMs: number; reason: string }
  | { kind: 'fail'; code: string; reason: string }
  | { kind: 'stopped' };

/** How much of an answer's body a failure reason quotes. */
export const REASON_BODY_CHARS = 200;

export function attemptOutcome(facts: AttemptFacts): AttemptOutcome {
  const { answer, error, attempt, retryCount, backoff } = facts;
  const triesLeft = attempt <= retryCount;
  const afterTries = attempt > 1 ? ` (gave up after ${attempt} attempts; retryCount: ${retryCount})` : '';
  if (answer && answer.status >= 200 && answer.status < 300) {
    return facts.disableCallback ? { kind: 'succeed' } : { kind: 'await-callback' };
  }
  if (answer) {
    const quoted = answer.bodyStart.slice(0, REASON_BODY_CHARS).trim();
    const reason = `${facts.displayUrl} answered ${answer.status}${quoted === '' ? '' : `: ${quoted}`}`;
    if ((answer.status >= 500 || answer.status === 429) && triesLeft) {
      const after = parseRetryAfter(answer.retryAfter, facts.now);
      return {
        kind: 'retry',
        delayMs:
          after === undefined ? backoffDelay(attempt, backoff) : Math.min(after, backoff.retryAfterMaxMs),
        reason: `${reason}${after === undefined ? '' : ` (Retry-After: ${answer.retryAfter})`}`,
      };
    }
    return { kind: 'fail', code: 'BRL_ERR_WEBHOOK_HTTP_STATUS', reason: reason + afterTries };
  }
  if (facts.cancelled || !error) return { kind: 'stopped' };
  if (error.retryable && triesLeft) {
    return { kind: 'retry', delayMs: backoffDelay(attempt, backoff), reason: error.message };
  }
  return { kind: 'fail', code: error.code, reason: error.message + afterTries };
}
