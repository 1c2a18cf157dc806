/**
 * Wakes the engine at the earliest stored deadline. It holds no state that matters: deadlines
 * live in the store, and after a restart the engine rebuilds this from them.
 *
 * One timer for all: the deadlines are kept in a min-heap (with lazy deletion: `due` says which
 * entries still count), so setting one costs O(log n) and not a scan of every deployment's
 * deadline (100,000 waiting deployments each with a deadline made a resume quadratic).
 */
export class WakeScheduler {
  private readonly due = new Map<string, number>();
  /** [at, id] pairs ordered by `at`; an entry whose `due` moved or went is skipped. */
  private heap: Array<[number, string]> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private closed = false;

  constructor(
    private readonly wake: (id: string) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  set(id: string, at: number | undefined): void {
    const was = this.due.get(id);
    if (was === at) return;
    if (at === undefined) this.due.delete(id);
    else {
      this.due.set(id, at);
      this.push([at, id]);
    }
    // Stale entries pile up when deadlines move often: rebuild the heap from `due` now and then.
    if (this.heap.length > 2 * this.due.size + 1024) this.rebuild();
    this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The earliest deadline still set, dropping stale heap entries on the way. */
  private earliest(): number | undefined {
    while (this.heap.length > 0) {
      const [at, id] = this.heap[0]!;
      if (this.due.get(id) === at) return at;
      this.pop();
    }
    return undefined;
  }

  private arm(): void {
    if (this.closed) return;
    const min = this.earliest();
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
    const woken: string[] = [];
    for (let at = this.earliest(); at !== undefined && at <= now; at = this.earliest()) {
      const [, id] = this.pop()!;
      this.due.delete(id);
      woken.push(id);
    }
    // Woken after the heap is settled: a wake-up may set a new deadline at once.
    for (const id of woken) this.wake(id);
    this.arm();
  }

  private rebuild(): void {
    this.heap = [...this.due].map(([id, at]) => [at, id] as [number, string]);
    this.heap.sort((a, b) => a[0] - b[0]);
  }

  private push(entry: [number, string]): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]![0] <= entry[0]) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = entry;
  }

  private pop(): [number, string] | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]![0] < h[l]![0] ? r : l;
      if (h[c]![0] >= last[0]) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
