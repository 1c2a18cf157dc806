import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { BorealisError } from '../errors.js';
import { type AgentConnectionInfo, type AgentConnectionMeta, AgentSession } from './agent-session.js';
import type { RemoteAgents } from './remote-agents.js';
import type { AgentGroup } from './types.js';

export interface AgentRegistryOptions {
  logger: Logger;
  heartbeatIntervalMs: number;
  agentMaxStreams: number;
  /** Bytes one agent connection may hold for readers (all its streams); past it: busy. */
  agentMaxBufferedBytes?: number;
  windowBytes: number;
  /** This replica, as the cluster knows it (shown in the Agents list). */
  replicaId?: string;
  /** A connection arrived or left. */
  onChange?: () => void;
  /** A connection arrived (after `onChange`). */
  onAccepted: () => void;
  /** Bytes on an agent's WebSocket: `out` to the agent, `in` from it. */
  onBytes: (direction: 'in' | 'out', bytes: number) => void;
}

/**
 * This replica's agent connections, grouped by identifier: who is connected, and which
 * connection takes the next call (the live, non-draining one with the fewest streams in flight).
 */
export class AgentRegistry {
  private readonly groups = new Map<string, Set<AgentSession>>();

  constructor(private readonly options: AgentRegistryOptions) {}

  accept(ws: WebSocket, meta: AgentConnectionMeta): AgentSession {
    const session = new AgentSession(ws, meta, {
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      maxStreams: this.options.agentMaxStreams,
      windowBytes: this.options.windowBytes,
      logger: this.options.logger,
      onBytes: this.options.onBytes,
      onClose: (s, code, reason) => {
        const group = this.groups.get(s.meta.agentIdentifier);
        group?.delete(s);
        if (group?.size === 0) this.groups.delete(s.meta.agentIdentifier);
        s.logger.info({ code, reason }, 'agent disconnected');
        this.options.onChange?.();
      },
    });
    let group = this.groups.get(meta.agentIdentifier);
    if (!group) {
      group = new Set();
      this.groups.set(meta.agentIdentifier, group);
    }
    group.add(session);
    session.logger.info(
      { version: meta.version, clientId: meta.clientId, remoteAddress: meta.remoteAddress },
      'agent connected',
    );
    this.options.onChange?.();
    this.options.onAccepted();
    return session;
  }

  /** A connection here takes new calls for `agentIdentifier` (it may still be at its limits). */
  hasLive(agentIdentifier: string): boolean {
    for (const s of this.groups.get(agentIdentifier) ?? []) {
      if (!s.tunnel.closed && !s.draining) return true;
    }
    return false;
  }

  /** Local connections, flat (what presence announces). */
  localConnections(): AgentConnectionInfo[] {
    return [...this.groups.values()].flatMap((g) => [...g].map((s) => s.info()));
  }

  /** This replica's live connections that authenticated with `clientId`. */
  sessionsOf(clientId: string): AgentSession[] {
    const out: AgentSession[] = [];
    for (const g of this.groups.values()) for (const s of g) if (s.meta.clientId === clientId) out.push(s);
    return out;
  }

  /** This replica's live connections, every one. */
  sessions(): AgentSession[] {
    return [...this.groups.values()].flatMap((g) => [...g]);
  }

  /** Every agent connection here and (as `remote` last heard) on other replicas, by identifier. */
  list(remote: RemoteAgents | undefined): AgentGroup[] {
    const replicaId = this.options.replicaId ?? 'local';
    const all = [
      ...this.localConnections().map((c) => ({ ...c, replicaId })),
      ...(remote?.connections() ?? []),
    ];
    const groups = new Map<string, AgentGroup['connections']>();
    for (const c of all) {
      const g = groups.get(c.agentIdentifier);
      if (g) g.push(c);
      else groups.set(c.agentIdentifier, [c]);
    }
    return [...groups.entries()]
      .map(([agentIdentifier, connections]) => ({
        agentIdentifier,
        connections: connections.sort((a, b) => a.connectedAt - b.connectedAt),
      }))
      .sort((a, b) => a.agentIdentifier.localeCompare(b.agentIdentifier));
  }

  get connectionCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.size;
    return n;
  }

  /**
   * The live, non-draining connection with the fewest streams in flight, among those under both
   * per-agent caps (streams, and bytes held for readers that are not reading).
   */
  pick(agentIdentifier: string): AgentSession {
    const group = this.groups.get(agentIdentifier);
    let best: AgentSession | undefined;
    let sawDraining = false;
    let sawFull = false;
    for (const s of group ?? []) {
      if (s.tunnel.closed) continue;
      if (s.draining) {
        sawDraining = true;
        continue;
      }
      if (
        s.streamsInFlight >= this.options.agentMaxStreams ||
        s.tunnel.stats().bufferedBytes >= this.maxBuffered
      ) {
        sawFull = true;
        continue;
      }
      if (!best || s.streamsInFlight < best.streamsInFlight) best = s;
    }
    if (best) return best;
    if (sawFull) {
      throw new BorealisError(
        'BRL_ERR_AGENT_BUSY',
        `Every agent "${agentIdentifier}" is at its limit (${this.options.agentMaxStreams} concurrent streams, or ${this.maxBuffered} bytes held for slow readers: BOREALIS_AGENT_MAX_STREAMS, BOREALIS_AGENT_MAX_BUFFERED); retry later or run another agent with that identifier`,
        { retryable: true, details: { agentIdentifier } },
      );
    }
    throw new BorealisError(
      'BRL_ERR_AGENT_NOT_CONNECTED',
      sawDraining
        ? `Every agent "${agentIdentifier}" is draining (shutting down); start another agent with BOREALIS_AGENT_IDENTIFIER=${agentIdentifier}`
        : `No agent "${agentIdentifier}" is connected; start one with BOREALIS_AGENT_IDENTIFIER=${agentIdentifier} (GET /api/v1/agents lists who is connected)`,
      { retryable: true, details: { agentIdentifier } },
    );
  }

  closeAll(): void {
    for (const g of this.groups.values()) for (const s of g) s.close();
  }

  private get maxBuffered(): number {
    return this.options.agentMaxBufferedBytes ?? Number.POSITIVE_INFINITY;
  }
}
