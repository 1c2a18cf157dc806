import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentConnectionInfo } from '../relay/index.js';
import { createInProcessNetwork } from './in-process-bus.js';
import { ClusterPresence } from './presence.js';

/**
 * Presence when a replica restarts under the same id (a fixed BOREALIS_REPLICA_ID, a StatefulSet
 * pod) faster than the others find it silent. Found by `pnpm chaos`: the new process's epochs
 * started again from 1, below what the old one had reached, so the others kept the dead
 * process's agent list (and their forwarding links to it) for as long as it had been running.
 */
const logger = pino({ level: 'silent' });
const started: ClusterPresence[] = [];
afterEach(() => {
  for (const p of started.splice(0)) p.close();
});

function connection(sessionId: string): AgentConnectionInfo {
  return {
    agentIdentifier: 'rna',
    instanceId: `inst-${sessionId}`,
    sessionId,
    version: '0.0.0-test',
    clientId: 'client',
    remoteAddress: '127.0.0.1',
    connectedAt: Date.now(),
    lastHeartbeatAt: Date.now(),
    lastFrameAt: Date.now(),
    rttMs: 1,
    streamsInFlight: 0,
    bufferedBytes: 0,
    draining: false,
  } as AgentConnectionInfo;
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('presence across a restart under the same replica id', () => {
  it('takes the new incarnation at its first announcement and drops the old one with its links', async () => {
    const network = createInProcessNetwork();
    const gone: string[] = [];
    const observer = new ClusterPresence({
      bus: network.join(),
      replicaId: 'r2',
      local: () => [],
      intervalMs: 60_000,
      logger,
      onReplicaGone: (id) => gone.push(id),
    });
    observer.start();
    started.push(observer);

    // The first process announces often, so its epoch runs far ahead.
    const oldBus = network.join();
    const old = new ClusterPresence({
      bus: oldBus,
      replicaId: 'r1',
      local: () => [connection('old-session')],
      intervalMs: 5,
      logger,
    });
    old.start();
    await until(() => observer.remote().some((c) => c.sessionId === 'old-session'));
    await new Promise((r) => setTimeout(r, 200));
    // It dies without a goodbye: its bus goes first, so nothing it says afterwards arrives.
    await oldBus.close();
    old.close();

    const renewed = new ClusterPresence({
      bus: network.join(),
      replicaId: 'r1',
      local: () => [connection('new-session')],
      intervalMs: 60_000,
      logger,
    });
    renewed.start();
    started.push(renewed);
    await until(() => observer.remote().some((c) => c.sessionId === 'new-session'));
    expect(observer.remote().map((c) => c.sessionId)).toEqual(['new-session']);
    // Forwarding streams to the dead process fail now, not at a heartbeat timeout.
    expect(gone).toEqual(['r1']);
    expect(observer.liveReplicas()).toEqual(['r1']);
  });

  it('ignores a late goodbye of the old incarnation once the new one is known', async () => {
    const network = createInProcessNetwork();
    const observer = new ClusterPresence({
      bus: network.join(),
      replicaId: 'r2',
      local: () => [],
      intervalMs: 60_000,
      logger,
    });
    observer.start();
    started.push(observer);
    const renewed = new ClusterPresence({
      bus: network.join(),
      replicaId: 'r1',
      local: () => [connection('new-session')],
      intervalMs: 60_000,
      logger,
    });
    renewed.start();
    started.push(renewed);
    await until(() => observer.remote().length === 1);
    // The goodbye of a process that ran before (another incarnation) arrives after.
    const old = new ClusterPresence({
      bus: network.join(),
      replicaId: 'r1',
      local: () => [],
      intervalMs: 60_000,
      logger,
    });
    old.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(observer.remote().map((c) => c.sessionId)).toEqual(['new-session']);
  });
});
