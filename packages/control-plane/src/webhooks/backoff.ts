/**
 * Retry timing: exponential backoff with full jitter (a uniformly random delay between 0 and
 * min(cap, base * 2^(attempt-1))), so many runs failing against one endpoint at the same moment
 * do not retry in lock-step. `Retry-After` from the endpoint wins, capped so a receiver cannot
 * park a run for longer than the operator expects.
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  retryAfterMaxMs: number;
  /** Source of the jitter, in [0, 1); tests make it deterministic. */
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, capMs: 30_000, retryAfterMaxMs: 60_000 };

/** Delay before the attempt after `attempt` (1-based). */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or not
 * understood (then the backoff applies).
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
