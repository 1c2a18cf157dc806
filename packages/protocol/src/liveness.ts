/**
 * What one tunnel knows of its peer's liveness: when a frame last came, the pings in flight and
 * the round trip they measured, and the stall-aware rule that turns silence into a verdict.
 */
export class Liveness {
  lastFrameAt = Date.now();
  lastHeartbeatAt: number | null = null;
  rttMs: number | null = null;
  /** When this side last ticked: a tick far later than its interval means this side stalled. */
  private lastTickAt = Date.now();
  /** Heartbeat ticks so far. */
  ticks = 0;
  private readonly pings = new Map<number, number>();
  private pingNonce = 0;

  constructor(
    readonly intervalMs: number,
    readonly timeoutMs: number,
  ) {}

  /**
   * True when the peer has been silent for longer than the timeout, judged at a heartbeat tick.
   *
   * A tick that comes two intervals late means this process's own event loop was blocked: the
   * peer's frames may be sitting unread in the socket (timers run before I/O is polled), so
   * silence measured across the stall says nothing about the peer. Judge on the next tick,
   * after the pending frames were read; a frozen peer is still caught one interval later.
   */
  silentAt(now: number): boolean {
    this.ticks++;
    const stalled = now - this.lastTickAt > this.intervalMs * 2;
    this.lastTickAt = now;
    return !stalled && now - this.lastFrameAt > this.timeoutMs;
  }

  /** The nonce of a ping sent now (the 16 most recent are remembered for their pongs). */
  ping(now: number): number {
    const nonce = ++this.pingNonce;
    this.pings.set(nonce, now);
    if (this.pings.size > 16) this.pings.delete(this.pings.keys().next().value as number);
    return nonce;
  }

  /** The round trip of the ping `nonce` answered, or undefined for a pong this side never asked. */
  pong(nonce: number, now: number): number | undefined {
    const sentAt = this.pings.get(nonce);
    if (sentAt === undefined) return undefined;
    this.pings.delete(nonce);
    this.lastHeartbeatAt = now;
    this.rttMs = now - sentAt;
    return this.rttMs;
  }
}
