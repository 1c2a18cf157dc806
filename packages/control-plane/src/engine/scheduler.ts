/**
 * Wakes the engine at the earliest stored deadline. It holds no state that matters: deadlines
 * live in the store, and after a restart the engine rebuilds this from them.
 */
export class WakeScheduler {
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private closed = false;

  constructor(
    private readonly wake: (id: string) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  set(id: string, at: number | undefined): void {
    if (at === undefined) this.due.delete(id);
    else this.due.set(id, at);
    this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.closed) return;
    let min: number | undefined;
    for (const at of this.due.values()) if (min === undefined || at < min) min = at;
    if (min === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = min;
    if (min === undefined) return;
    // setTimeout cannot wait longer than ~24.8 days; wake early and re-arm.
    const delay = Math.min(Math.max(0, min - this.clock()), 2_147_000_000);
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = undefined;
    const now = this.clock();
    for (const [id, at] of this.due) {
      if (at <= now) {
        this.due.delete(id);
        this.wake(id);
      }
    }
    this.arm();
  }
}
