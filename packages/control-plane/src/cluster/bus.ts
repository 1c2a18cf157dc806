/**
 * The cluster bus: how control-plane replicas that share a database talk to each other. It is
 * plain publish/subscribe on topics inside one cluster's namespace (plus request/reply), so what
 * rides on it — agent presence, forwarded tunnel frames, deployment wake-ups — is independent of
 * the transport: NATS between processes, or in-process for the embedded default and unit tests.
 */
export interface BusMessage {
  data: Uint8Array;
  /** Small string headers (who sent it, which tunnel session); empty when none. */
  headers: Record<string, string>;
  /** The topic it was published on (a subscription may use a trailing `>` wildcard). */
  topic: string;
  /** Set on a request: answers it. */
  reply?: (data: Uint8Array) => void;
}

export interface BusHealth {
  ok: boolean;
  /** Why not, for /readyz. */
  reason?: string;
}

export const BusKind = { inProcess: 'in-process', nats: 'nats' } as const;
export type BusKind = (typeof BusKind)[keyof typeof BusKind];

export interface ClusterBus {
  readonly kind: BusKind;
  /** Fire and forget; delivered in order per (publisher, topic). Never throws. */
  publish(topic: string, data: Uint8Array, headers?: Record<string, string>): void;
  /** `topic` may end with `.>` to take every topic under it. Survives reconnects. */
  subscribe(topic: string, handler: (msg: BusMessage) => void): () => void;
  /** One answer from whoever subscribed to `topic`; rejects after `timeoutMs` or with no one there. */
  request(topic: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  health(): BusHealth;
  /**
   * `listener` runs when the bus loses its connection: whatever was in flight, and whatever
   * others publish until it is back, may be lost. Returns the unsubscribe.
   */
  onInterrupted(listener: () => void): () => void;
  /**
   * `listener` runs when the bus is connected again after an interruption: what others said
   * meanwhile may never arrive, so look in the store. Returns the unsubscribe.
   */
  onRestored(listener: () => void): () => void;
  close(): Promise<void>;
}

/** `fwd.a.>` matches `fwd.a.b`; anything else matches itself only. */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern.endsWith('.>'))
    return topic.startsWith(pattern.slice(0, -1)) && topic.length > pattern.length - 1;
  return pattern === topic;
}
