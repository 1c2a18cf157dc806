/**
 * Polls `fn` until it returns something truthy, and resolves with that value. A throw counts as
 * "not yet" (a server restarting refuses connections for a moment); on time-out the error names
 * `what` and the last throw. Call as `until(fn)`, `until(fn, 'what it waits for')`,
 * `until(fn, ms)` or `until(fn, 'what', ms)`.
 */
export async function until<T>(
  fn: () => T | Promise<T>,
  whatOrMs: string | number = 'a condition',
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const what = typeof whatOrMs === 'string' ? whatOrMs : 'a condition';
  const ms = typeof whatOrMs === 'number' ? whatOrMs : timeoutMs;
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
