/**
 * One timer for the heartbeats of every tunnel in this process that share an interval, instead of
 * a timer (two, with reconciliation) per tunnel. The interval is cut into slots; each tunnel sits
 * in one slot and the timer visits one slot per tick, so every tunnel still ticks once per
 * interval, and 20,000 tunnels do not all ping in the same millisecond.
 *
 * A member's first tick comes at most one interval after it joins: its slot is visited once per
 * turn of the wheel. Whether a tick came late because this process stalled is for the member to
 * judge from its own last tick (see `Tunnel`); the wheel only calls.
 */
export interface WheelMember {
  /** Called once per interval with `Date.now()`. */
  tick(now: number): void;
}

/** Slots are at least this far apart, and there are at most `MAX_SLOTS` of them. */
const MIN_SLOT_MS = 50;
const MAX_SLOTS = 20;

export class HeartbeatWheel {
  private readonly slots: Array<Set<WheelMember>>;
  private readonly slotMs: number;
  /** The slot the next tick visits. */
  private nextSlot = 0;
  /** The slot the next member joins: round-robin keeps the slots even. */
  private joinSlot = 0;
  private members = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly intervalMs: number) {
    const count = Math.max(1, Math.min(MAX_SLOTS, Math.floor(intervalMs / MIN_SLOT_MS)));
    this.slots = Array.from({ length: count }, () => new Set<WheelMember>());
    this.slotMs = Math.max(1, Math.floor(intervalMs / count));
  }

  get size(): number {
    return this.members;
  }

  /** Adds a member; returns its slot, which `leave` needs. */
  join(member: WheelMember): number {
    const slot = this.joinSlot;
    this.joinSlot = (slot + 1) % this.slots.length;
    this.slots[slot]!.add(member);
    this.members++;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.turn(), this.slotMs);
      this.timer.unref();
    }
    return slot;
  }

  leave(member: WheelMember, slot: number): void {
    if (!this.slots[slot]?.delete(member)) return;
    this.members--;
    if (this.members === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private turn(): void {
    const slot = this.slots[this.nextSlot]!;
    this.nextSlot = (this.nextSlot + 1) % this.slots.length;
    if (slot.size === 0) return;
    const now = Date.now();
    // A member may leave while it ticks (a dead peer closes its tunnel): Set iteration allows it.
    for (const member of slot) {
      try {
        member.tick(now);
      } catch (err) {
        // One member's bug must not skip the others' heartbeats; it still surfaces as uncaught,
        // as it did from a timer of its own.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

const wheels = new Map<number, HeartbeatWheel>();

/** The process's wheel for `intervalMs`. */
export function heartbeatWheel(intervalMs: number): HeartbeatWheel {
  let wheel = wheels.get(intervalMs);
  if (!wheel) {
    wheel = new HeartbeatWheel(intervalMs);
    wheels.set(intervalMs, wheel);
  }
  return wheel;
}
