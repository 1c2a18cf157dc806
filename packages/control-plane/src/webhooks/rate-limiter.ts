/**
 * A token bucket per source address, in memory. Callback tokens are 256-bit random values, so
 * guessing is hopeless anyway; the limit keeps a flood of guesses from costing the database.
 * Per replica and forgotten at restart, which is fine for that purpose.
 */
export interface RateLimitOptions {
  /** Requests one address may make at once. */
  burst: number;
  /** Requests per second an address gets back. */
  perSecond: number;
  /** Addresses never limited (default: loopback, i.e. tests and a local operator). */
  exempt?: (address: string) => boolean;
  /** Most addresses remembered; beyond it, full buckets are forgotten first. */
  maxAddresses?: number;
}

export const DEFAULT_CALLBACK_RATE_LIMIT: RateLimitOptions = { burst: 60, perSecond: 10, exempt: isLoopback };

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export function createRateLimiter(options: RateLimitOptions, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const maxAddresses = options.maxAddresses ?? 10_000;
  const refill = (b: { tokens: number; at: number }, t: number) => {
    b.tokens = Math.min(options.burst, b.tokens + ((t - b.at) / 1000) * options.perSecond);
    b.at = t;
  };
  return {
    /** True if `address` may make one more request now (and counts it). */
    take(address: string): boolean {
      if (options.exempt?.(address)) return true;
      const t = now();
      let bucket = buckets.get(address);
      if (!bucket) {
        if (buckets.size >= maxAddresses) prune(t);
        bucket = { tokens: options.burst, at: t };
        buckets.set(address, bucket);
      }
      refill(bucket, t);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };

  function prune(t: number): void {
    for (const [address, b] of buckets) {
      refill(b, t);
      if (b.tokens >= options.burst) buckets.delete(address);
    }
    // Everyone is mid-burst: forget the oldest rather than grow without bound.
    while (buckets.size >= maxAddresses) {
      const oldest = buckets.keys().next().value;
      if (oldest === undefined) break;
      buckets.delete(oldest);
    }
  }
}
