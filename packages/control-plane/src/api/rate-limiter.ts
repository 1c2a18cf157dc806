/**
 * A token bucket per source address, in memory. The callback routes spend from it only on
 * FAILED look-ups (an unknown token), so a valid callback is never slowed by anyone's failures,
 * not even by strangers behind the same proxy. Callback tokens are 256-bit random values, so
 * guessing is hopeless anyway; the limit makes a flood of guesses cheap to answer and visible.
 * The source is the socket's address, or X-Forwarded-For from BOREALIS_TRUSTED_PROXIES only.
 * Per replica and forgotten at restart, which is fine for that purpose.
 */
export interface RateLimitOptions {
  /** Requests one address may make at once. */
  burst: number;
  /** Requests per second an address gets back. */
  perSecond: number;
  /** Addresses never limited (default: none). */
  exempt?: (address: string) => boolean;
  /** Most addresses remembered; beyond it, full buckets are forgotten first. */
  maxAddresses?: number;
}

/**
 * Failed callback look-ups per source: 30 at once, then one a second. No address is exempt: a
 * proxy on the same host would otherwise exempt everyone behind it.
 */
export const DEFAULT_CALLBACK_RATE_LIMIT: RateLimitOptions = { burst: 30, perSecond: 1 };

export function createRateLimiter(options: RateLimitOptions, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const maxAddresses = options.maxAddresses ?? 10_000;
  const refill = (b: { tokens: number; at: number }, t: number) => {
    b.tokens = Math.min(options.burst, b.tokens + ((t - b.at) / 1000) * options.perSecond);
    b.at = t;
  };
  return {
    /** True if `address` may fail once more now (and counts it). */
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
