import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInProcessNetwork } from './in-process-bus.js';
import { ClusterPresence } from './presence.js';

const logger = pino({ level: 'silent' });
const INTERVAL = 1_000;

/** What another replica says once on the bus, and then never again (it died without a word). */
function announceOnce(bus: ReturnType<ReturnType<typeof createInProcessNetwork>['join']>, replicaId: string) {
  const a = { replicaId, epoch: 1, page: 0, pages: 1, connections: [] };
  bus.publish('presence', Buffer.from(JSON.stringify(a)));
}

describe('cluster presence', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a stall of this replica does not drop the others; a replica that really went silent is dropped', async () => {
    vi.useFakeTimers();
    const net = createInProcessNetwork();
    const gone: string[] = [];
    const a = new ClusterPresence({
      bus: net.join(),
      replicaId: 'a',
      local: () => [],
      intervalMs: INTERVAL,
      logger,
      onReplicaGone: (id) => gone.push(id),
    });
    a.start();
    announceOnce(net.join(), 'b');
    await vi.advanceTimersByTimeAsync(0);
    expect(a.liveReplicas()).toEqual(['b']);

    // Replica a blocks for longer than the TTL: no timer runs, the clock moves on.
    vi.setSystemTime(Date.now() + INTERVAL * 5);
    expect(a.liveReplicas()).toEqual(['b']);
    expect(gone).toEqual([]);

    // b is heard from again after the stall: it lives on.
    announceOnce(net.join(), 'b');
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(a.liveReplicas()).toEqual(['b']);

    // Then b says nothing for longer than the TTL while a runs on time: b is gone.
    await vi.advanceTimersByTimeAsync(INTERVAL * 4);
    expect(a.liveReplicas()).toEqual([]);
    expect(gone).toEqual(['b']);
    a.close();
  });
});
