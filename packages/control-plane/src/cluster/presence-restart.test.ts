import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../../test/kit/until.js';
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

/** A started presence on `bus` announcing `sessions` every `intervalMs`; closed after the test unless `closedByTest`. */
function presence(
  bus: ReturnType<ReturnType<typeof createInProcessNetwork>['join']>,
  replicaId: string,
  sessions: string[],
  extra: { intervalMs?: number; onReplicaGone?: (id: string) => void; closedByTest?: boolean } = {},
): ClusterPresence {
  const { closedByTest, ...options } = extra;
  const p = new ClusterPresence({
    bus,
    replicaId,
    local: () => sessions.map(connection),
    intervalMs: 60_000,
    logger,
    ...options,
  });
  p.start();
  if (!closedByTest) started.push(p);
  return p;
}

describe('presence across a restart under the same replica id', () => {
  it('takes the new incarnation at its first announcement and drops the old one with its links', async () => {
    const network = createInProcessNetwork();
    const gone: string[] = [];
    const observer = presence(network.join(), 'r2', [], { onReplicaGone: (id) => gone.push(id) });

    // The first process announces often, so its epoch runs far ahead.
    const oldBus = network.join();
    const old = presence(oldBus, 'r1', ['old-session'], { intervalMs: 5, closedByTest: true });
    await until(() => observer.remote().some((c) => c.sessionId === 'old-session'));
    await new Promise((r) => setTimeout(r, 200));
    // It dies without a goodbye: its bus goes first, so nothing it says afterwards arrives.
    await oldBus.close();
    old.close();

    presence(network.join(), 'r1', ['new-session']);
    await until(() => observer.remote().some((c) => c.sessionId === 'new-session'));
    expect(observer.remote().map((c) => c.sessionId)).toEqual(['new-session']);
    // Forwarding streams to the dead process fail now, not at a heartbeat timeout.
    expect(gone).toEqual(['r1']);
    expect(observer.liveReplicas()).toEqual(['r1']);
  });

  it('ignores a late goodbye of the old incarnation once the new one is known', async () => {
    const network = createInProcessNetwork();
    const observer = presence(network.join(), 'r2', []);
    presence(network.join(), 'r1', ['new-session']);
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
