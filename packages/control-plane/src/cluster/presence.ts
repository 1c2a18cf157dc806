import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AgentConnectionInfo } from '../relay/index.js';
import type { ClusterBus } from './bus.js';
import { ClusterMessages, type PresenceMessage, receiveMessage } from './messages.js';

/** One agent connection held by some replica, as presence announces it. */
export interface ReplicaConnection extends AgentConnectionInfo {
  replicaId: string;
}

export interface PresenceOptions {
  bus: ClusterBus;
  replicaId: string;
  /** This replica's connections right now. */
  local: () => AgentConnectionInfo[];
  /** How often each replica announces itself (also a heartbeat); default 2 s. */
  intervalMs?: number;
  /** A replica silent this long is gone with its agents; default 3 intervals. */
  ttlMs?: number;
  logger: Logger;
  /** A replica vanished (said goodbye or went silent). */
  onReplicaGone?: (replicaId: string) => void;
}

type Announcement = PresenceMessage;

interface Known {
  incarnation: string | undefined;
  epoch: number;
  connections: AgentConnectionInfo[];
  expiresAt: number;
  partial?: { epoch: number; pages: Map<number, AgentConnectionInfo[]> };
}

const TOPIC = 'presence';
/** Connections per message: ~400 bytes each keeps a page far below NATS's 1 MiB max_payload. */
const PAGE_SIZE = 1_000;

/**
 * Agent presence shared by every replica: each announces its connections on change and
 * periodically; the others keep what they heard until it is `ttlMs` old, so the agents of a replica
 * that died without a word vanish within seconds. Nothing is stored: presence is what is true now.
 */
export class ClusterPresence {
  private readonly replicas = new Map<string, Known>();
  private readonly intervalMs: number;
  private readonly ttlMs: number;
  private epoch = 0;
  private readonly incarnation = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  /** When the announce timer last ran; far behind `now` means this replica itself stalled. */
  private lastTickAt = 0;
  private debounce: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: PresenceOptions) {
    this.intervalMs = options.intervalMs ?? 2_000;
    this.ttlMs = options.ttlMs ?? this.intervalMs * 3;
  }

  start(): void {
    this.unsubscribe = this.options.bus.subscribe(TOPIC, (msg) => this.receive(msg.data));
    this.announce();
    this.lastTickAt = Date.now();
    this.timer = setInterval(() => {
      this.expire();
      this.lastTickAt = Date.now();
      // Alone, nobody needs the list (20,000 connections are megabytes of JSON every interval): a
      // replica that joins is answered with it at once (see `receive`).
      if (this.replicas.size === 0) this.alive();
      else this.announce();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Local connections changed: tell the others soon (coalescing bursts of connects). */
  changed(): void {
    if (this.debounce || !this.timer || this.replicas.size === 0) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.announce();
    }, 50);
    this.debounce.unref();
  }

  /** Every live connection on other replicas. */
  remote(): ReplicaConnection[] {
    this.expire();
    const out: ReplicaConnection[] = [];
    for (const [replicaId, known] of this.replicas) {
      for (const c of known.connections) out.push({ ...c, replicaId });
    }
    return out;
  }

  /** Replicas other than this one that are alive now. */
  liveReplicas(): string[] {
    this.expire();
    return [...this.replicas.keys()];
  }

  /**
   * Something else came from a replica we know (a forwarded frame): proof of life as good as an
   * announcement. Under load a replica's announcements can queue behind the frames it forwards,
   * and a replica that is answering our calls must not be declared gone (and its calls failed)
   * for being late with its announcement.
   */
  heard(replicaId: string): void {
    const known = this.replicas.get(replicaId);
    if (known) known.expiresAt = Math.max(known.expiresAt, Date.now() + this.ttlMs);
  }

  isAlive(replicaId: string): boolean {
    const known = this.replicas.get(replicaId);
    return known !== undefined && known.expiresAt > Date.now();
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.timer = undefined;
    this.unsubscribe?.();
    const bye: Announcement = {
      replicaId: this.options.replicaId,
      incarnation: this.incarnation,
      epoch: ++this.epoch,
      page: 0,
      pages: 1,
      gone: true,
      connections: [],
    };
    this.options.bus.publish(TOPIC, ClusterMessages.presence.encode(bye));
  }

  private announce(): void {
    const connections = this.options.local();
    const pages = Math.max(1, Math.ceil(connections.length / PAGE_SIZE));
    const epoch = ++this.epoch;
    for (let page = 0; page < pages; page++) {
      const a: Announcement = {
        replicaId: this.options.replicaId,
        incarnation: this.incarnation,
        epoch,
        page,
        pages,
        connections: connections.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE),
      };
      this.options.bus.publish(TOPIC, ClusterMessages.presence.encode(a));
    }
  }

  private alive(): void {
    const a: Announcement = {
      replicaId: this.options.replicaId,
      incarnation: this.incarnation,
      epoch: this.epoch,
      page: 0,
      pages: 1,
      alive: true,
      connections: [],
    };
    this.options.bus.publish(TOPIC, ClusterMessages.presence.encode(a));
  }

  private receive(data: Uint8Array): void {
    const a = receiveMessage(ClusterMessages.presence, data, this.options.logger);
    if (!a || a.replicaId === this.options.replicaId) return;
    let known = this.replicas.get(a.replicaId);
    if (a.gone) {
      // A late goodbye of an earlier incarnation must not drop the one that replaced it.
      if (!known || known.incarnation === a.incarnation) this.forget(a.replicaId, 'said goodbye');
      return;
    }
    if (known && known.incarnation !== a.incarnation) {
      // The same replica id in a new process (it restarted before it was found silent): what the
      // old one announced is gone with it, and so is every forwarding stream to it.
      this.forget(a.replicaId, 'restarted (a new incarnation announced itself)');
      known = undefined;
    }
    const isNew = known === undefined;
    if (!known) {
      known = { incarnation: a.incarnation, epoch: -1, connections: [], expiresAt: 0 };
      this.replicas.set(a.replicaId, known);
    }
    known.expiresAt = Date.now() + this.ttlMs;
    if (a.epoch <= known.epoch || a.alive) {
      if (isNew) this.joined(a.replicaId);
      return;
    }
    if (a.pages <= 1) {
      known.epoch = a.epoch;
      known.connections = a.connections ?? [];
      known.partial = undefined;
    } else {
      if (!known.partial || known.partial.epoch < a.epoch)
        known.partial = { epoch: a.epoch, pages: new Map() };
      if (known.partial.epoch === a.epoch) {
        known.partial.pages.set(a.page, a.connections ?? []);
        if (known.partial.pages.size === a.pages) {
          known.epoch = a.epoch;
          known.connections = [...known.partial.pages.entries()]
            .sort((x, y) => x[0] - y[0])
            .flatMap((p) => p[1]);
          known.partial = undefined;
        }
      }
    }
    if (isNew) this.joined(a.replicaId);
  }

  private joined(replicaId: string): void {
    this.options.logger.info({ replicaId }, 'replica joined');
    // A newcomer should not wait a whole interval to learn about our agents.
    this.changed();
  }

  private expire(): void {
    const now = Date.now();
    if (this.timer && now - this.lastTickAt > this.intervalMs * 2) {
      // This replica's own event loop stalled (its timer could not run): the others'
      // announcements may sit unread on the bus, so silence measured across the stall says nothing
      // about them. Give them an interval to be heard; a dead replica is dropped right after.
      for (const known of this.replicas.values()) {
        known.expiresAt = Math.max(known.expiresAt, now + this.intervalMs);
      }
      return;
    }
    for (const [replicaId, known] of this.replicas) {
      if (known.expiresAt <= now) this.forget(replicaId, `silent for ${this.ttlMs} ms`);
    }
  }

  private forget(replicaId: string, why: string): void {
    if (!this.replicas.delete(replicaId)) return;
    this.options.logger.info({ replicaId, why }, 'replica left; its agents are gone from the list');
    this.options.onReplicaGone?.(replicaId);
  }
}
