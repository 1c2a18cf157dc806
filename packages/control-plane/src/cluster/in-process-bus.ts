import { BorealisError } from '../errors.js';
import { BusKind, type BusMessage, type ClusterBus, topicMatches } from './bus.js';

interface Subscription {
  topic: string;
  handler: (msg: BusMessage) => void;
}

/**
 * A bus inside one process. The embedded default has one replica and nothing to tell anyone; tests
 * join several control planes to one network to exercise presence and forwarding without NATS.
 * Delivery is asynchronous (a microtask), as over a network, so nobody relies on re-entrancy.
 */
export function createInProcessNetwork(): { join(): ClusterBus } {
  const subs = new Set<Subscription>();
  return {
    join(): ClusterBus {
      const mine = new Set<Subscription>();
      let closed = false;
      const deliver = (topic: string, msg: Omit<BusMessage, 'topic'>): number => {
        let n = 0;
        for (const s of subs) {
          if (!topicMatches(s.topic, topic)) continue;
          n++;
          queueMicrotask(() => {
            if (subs.has(s)) s.handler({ ...msg, topic });
          });
        }
        return n;
      };
      return {
        kind: BusKind.inProcess,
        publish(topic, data, headers = {}) {
          if (!closed) deliver(topic, { data, headers });
        },
        subscribe(topic, handler) {
          const s = { topic, handler };
          subs.add(s);
          mine.add(s);
          return () => {
            subs.delete(s);
            mine.delete(s);
          };
        },
        request(topic, data, timeoutMs) {
          return new Promise((resolve, reject) => {
            const timer = setTimeout(
              () =>
                reject(
                  new BorealisError(
                    'BRL_ERR_CLUSTER_UNAVAILABLE',
                    `No answer on ${topic} within ${timeoutMs} ms`,
                  ),
                ),
              timeoutMs,
            );
            const n = deliver(topic, {
              data,
              headers: {},
              reply: (answer) => {
                clearTimeout(timer);
                resolve(answer);
              },
            });
            if (n === 0) {
              clearTimeout(timer);
              reject(new BorealisError('BRL_ERR_CLUSTER_UNAVAILABLE', `No replica answers on ${topic}`));
            }
          });
        },
        health: () => ({ ok: true }),
        // Nothing between publisher and subscriber to lose.
        onInterrupted: () => () => undefined,
        onRestored: () => () => undefined,
        async close() {
          closed = true;
          for (const s of mine) subs.delete(s);
          mine.clear();
        },
      };
    },
  };
}

/** The embedded default: one replica alone on its own bus. */
export function createInProcessBus(): ClusterBus {
  return createInProcessNetwork().join();
}
