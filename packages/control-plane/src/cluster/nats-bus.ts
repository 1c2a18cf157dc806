import { connect, type NatsConnection, headers as natsHeaders, type Subscription } from 'nats';
import type { Logger } from 'pino';
import { BorealisError } from '../errors.js';
import { BusKind, type BusMessage, type ClusterBus } from './bus.js';

export interface NatsBusOptions {
  url: string;
  /** Namespace: replicas sharing one database share one cluster id (see cluster-id.ts). */
  clusterId: string;
  replicaId: string;
  logger: Logger;
}

/**
 * The cluster bus over NATS core (no JetStream: nothing on it needs to outlive a replica; the
 * store is the truth). Subjects are `borealis.<clusterId>.<topic>`. nats.js reconnects forever
 * and re-subscribes by itself; while it is away, `health()` says so and publishes are buffered.
 * NATS core delivers at most once: a disconnect tells `onInterrupted` listeners that messages in
 * flight may be gone (the forwarding links, which need every frame, start again).
 */
export async function createNatsBus(options: NatsBusOptions): Promise<ClusterBus> {
  const prefix = `borealis.${options.clusterId}.`;
  const log = options.logger.child({ component: 'cluster', bus: 'nats' });
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.url,
      name: `borealis-control-plane ${options.replicaId}`,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // Notice a dead server within seconds, not minutes (default 2 min x 2).
      pingInterval: 2_000,
      maxPingOut: 2,
      timeout: 5_000,
    });
  } catch (cause) {
    throw new BorealisError(
      'BRL_ERR_CLUSTER_UNAVAILABLE',
      `Cannot connect to NATS at ${redact(options.url)} (${(cause as Error).message}); start it or fix BOREALIS_NATS_URL`,
      { cause, details: { natsUrl: redact(options.url) } },
    );
  }
  let down: string | undefined;
  let closing = false;
  const interrupted = new Set<() => void>();
  const restored = new Set<() => void>();
  const tell = (listeners: Set<() => void>, what: string) => {
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch (err) {
        log.error({ err: (err as Error).message }, `bus ${what} listener threw`);
      }
    }
  };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        down = `disconnected from NATS at ${redact(options.url)}`;
        log.warn({ server: String(s.data) }, 'lost NATS; reconnecting');
        tell(interrupted, 'interruption');
      } else if (s.type === 'reconnecting') {
        down ??= `reconnecting to NATS at ${redact(options.url)}`;
      } else if (s.type === 'reconnect') {
        down = undefined;
        log.info({ server: String(s.data) }, 'NATS is back');
        tell(restored, 'restore');
      } else if (s.type === 'error') {
        log.warn({ err: String(s.data) }, 'NATS error');
      }
    }
  })().catch(() => undefined);
  void nc.closed().then((err) => {
    if (!closing) {
      down = `the NATS connection closed${err ? `: ${err.message}` : ''}`;
      log.error({ err: err?.message }, 'NATS connection closed for good');
    }
  });

  const subs = new Set<Subscription>();
  return {
    kind: BusKind.nats,
    publish(topic, data, headers) {
      if (nc.isClosed()) return;
      try {
        if (headers && Object.keys(headers).length > 0) {
          const h = natsHeaders();
          for (const [k, v] of Object.entries(headers)) h.set(k, v);
          nc.publish(prefix + topic, data, { headers: h });
        } else {
          nc.publish(prefix + topic, data);
        }
      } catch (err) {
        // Losing one message is what a network does; every user of the bus tolerates it.
        log.debug({ topic, err: (err as Error).message }, 'publish failed');
      }
    },
    subscribe(topic, handler) {
      const sub = nc.subscribe(prefix + topic, {
        callback: (err, msg) => {
          if (err) return;
          const headers: Record<string, string> = {};
          if (msg.headers) for (const k of msg.headers.keys()) headers[k] = msg.headers.get(k);
          const m: BusMessage = { data: msg.data, headers, topic: msg.subject.slice(prefix.length) };
          if (msg.reply) m.reply = (answer) => msg.respond(answer);
          try {
            handler(m);
          } catch (e) {
            log.error({ topic, err: (e as Error).message }, 'bus handler threw');
          }
        },
      });
      subs.add(sub);
      return () => {
        subs.delete(sub);
        sub.unsubscribe();
      };
    },
    async request(topic, data, timeoutMs) {
      try {
        const msg = await nc.request(prefix + topic, data, { timeout: timeoutMs });
        return msg.data;
      } catch (cause) {
        throw new BorealisError(
          'BRL_ERR_CLUSTER_UNAVAILABLE',
          `No answer from the cluster on ${topic}: ${(cause as Error).message}`,
          { cause, retryable: true },
        );
      }
    },
    health: () => (down === undefined ? { ok: true } : { ok: false, reason: down }),
    onInterrupted(listener) {
      interrupted.add(listener);
      return () => interrupted.delete(listener);
    },
    onRestored(listener) {
      restored.add(listener);
      return () => restored.delete(listener);
    },
    async close() {
      closing = true;
      for (const s of subs) s.unsubscribe();
      subs.clear();
      await nc.drain().catch(() => nc.close());
    },
  };
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
