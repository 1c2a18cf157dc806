/**
 * Reconnect delays: exponential with FULL jitter (delay = random(0, min(max, base·2^attempt))),
 * so a fleet of agents cut off together does not come back together. The random source is
 * injectable so tests can pin the bounds.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The ceiling for the next delay, before jitter (and below `capMs` when given). */
  ceiling(capMs: number = this.maxMs): number {
    // 2^31 already dwarfs any sane max; stopping there keeps the arithmetic finite.
    return Math.min(this.maxMs, capMs, this.baseMs * 2 ** Math.min(this.attempt, 31));
  }

  /**
   * The next delay; each call counts as one more failed attempt. `capMs` lowers the maximum for
   * this delay (after a clean close by the control plane a few seconds are enough).
   */
  next(capMs?: number): number {
    const delay = Math.floor(this.random() * this.ceiling(capMs));
    this.attempt++;
    return delay;
  }

  /** A delay drawn from [0, windowMs) that does not count as a failed attempt. */
  jitter(windowMs: number): number {
    return Math.floor(this.random() * Math.min(windowMs, this.maxMs));
  }

  /**
   * A delay of at least the maximum: for refusals that retrying soon cannot fix (wrong
   * credentials, version mismatch), so a misconfigured agent never hammers the control plane.
   * Up to a fifth more is added as jitter.
   */
  penalty(): number {
    this.attempt++;
    return this.maxMs + Math.floor(this.random() * (this.maxMs / 5));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
