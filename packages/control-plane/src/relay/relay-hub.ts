import type { Readable } from 'node:stream';
import type { BodySource, HeaderList } from '@borealis/protocol';
import {
  HEADER_VALUE_PATTERN,
  HTTP_TOKEN_PATTERN,
  ProtocolError,
  type TunnelStream,
} from '@borealis/protocol';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { BorealisError, type ErrorCode } from '../errors.js';
import { type AgentConnectionInfo, type AgentConnectionMeta, AgentSession } from './agent-session.js';
import type { ForwardedResponse, RemoteAgents } from './remote-agents.js';

export interface DispatchRequest {
  method: string;
  url: string;
  headers?: HeaderList | Record<string, string>;
  body?: BodySource;
  /** Whole-call limit; the agent enforces it too. 0 or absent: none. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * The path as the agent may log it: no query, secret-rendered parts masked. Agents that
   * announced `log-path` log this instead of the URL's path.
   */
  logUrl?: string;
}

export interface DispatchResponse {
  status: number;
  headers: HeaderList;
  body: Readable;
  /** Which connection carried the call (recorded with webhook runs); `replicaId` when forwarded. */
  agent: { agentIdentifier: string; instanceId: string; sessionId: string; replicaId?: string };
}

/** The one door to agents: everything that needs an agent calls this. */
export interface Dispatcher {
  dispatch(agentIdentifier: string, request: DispatchRequest): Promise<DispatchResponse>;
  /**
   * True when a dispatch to `agentIdentifier` would find a connection that takes new calls now,
   * on this replica or (as presence last said) on another.
   */
  hasAgent(agentIdentifier: string): boolean;
  /**
   * Resolves true as soon as `hasAgent` would be true, false after `timeoutMs` or when `signal`
   * aborts. Calls nothing: a caller that must not fail while an agent restarts waits here first.
   */
  waitForAgent(
    agentIdentifier: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<boolean>;
}

export interface AgentGroup {
  agentIdentifier: string;
  /** Every connection on every replica; `replicaId` says which one holds it. */
  connections: Array<AgentConnectionInfo & { replicaId: string }>;
}

export interface RelayHubOptions {
  logger: Logger;
  heartbeatIntervalMs: number;
  agentMaxStreams: number;
  /** Bytes one agent connection may hold for readers (all its streams); past it: busy. */
  agentMaxBufferedBytes?: number;
  maxStreams: number;
  windowBytes: number;
  /** This replica, as the cluster knows it (shown in the Agents list). */
  replicaId?: string;
  onChange?: () => void;
}

/** How often `waitForAgent` looks at presence for a connection on another replica. */
const AGENT_WAIT_POLL_MS = 250;

/** How stream-level failures reported by the agent map to the control plane's codes. */
const streamErrorCodes: Record<string, ErrorCode> = {
  BRL_STREAM_DISCONNECTED: 'BRL_ERR_AGENT_DISCONNECTED',
  BRL_STREAM_BUSY: 'BRL_ERR_AGENT_BUSY',
  BRL_STREAM_DRAINING: 'BRL_ERR_AGENT_BUSY',
  BRL_STREAM_DESTINATION_REFUSED: 'BRL_ERR_AGENT_REFUSED',
  BRL_STREAM_CONNECT_FAILED: 'BRL_ERR_DESTINATION_UNREACHABLE',
  BRL_STREAM_TIMEOUT: 'BRL_ERR_DISPATCH_TIMEOUT',
  BRL_STREAM_CANCELLED: 'BRL_ERR_DISPATCH_CANCELLED',
};

/**
 * Keeps every agent connection of this replica, grouped by identifier, and dispatches calls to
 * them: the connection with the fewest streams in flight, skipping draining ones.
 */
export class RelayHub implements Dispatcher {
  private readonly groups = new Map<string, Set<AgentSession>>();
  private inFlight = 0;
  private remote: RemoteAgents | undefined;
  /** Calls this replica forwards per remote session, to spread load between presence updates. */
  private readonly forwarded = new Map<string, number>();
  /** Callers of `waitForAgent`, woken when a connection arrives here (presence is polled). */
  private readonly agentWaiters = new Set<() => void>();

  constructor(private readonly options: RelayHubOptions) {}

  /** Agents on other replicas become reachable through `dispatch` (scale-out). */
  attachRemote(remote: RemoteAgents): void {
    this.remote = remote;
  }

  /** Local connections, flat (what presence announces). */
  localConnections(): AgentConnectionInfo[] {
    return [...this.groups.values()].flatMap((g) => [...g].map((s) => s.info()));
  }

  accept(ws: WebSocket, meta: AgentConnectionMeta): AgentSession {
    const session = new AgentSession(ws, meta, {
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      maxStreams: this.options.agentMaxStreams,
      windowBytes: this.options.windowBytes,
      logger: this.options.logger,
      onBytes: (direction, bytes) => {
        if (direction === 'in') this.bytesFromAgents += bytes;
        else this.bytesToAgents += bytes;
      },
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
    for (const wake of [...this.agentWaiters]) wake();
    return session;
  }

  hasAgent(agentIdentifier: string): boolean {
    for (const s of this.groups.get(agentIdentifier) ?? []) {
      if (!s.tunnel.closed && !s.draining) return true;
    }
    return this.pickRemote(agentIdentifier) !== undefined;
  }

  waitForAgent(
    agentIdentifier: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<boolean> {
    if (this.hasAgent(agentIdentifier)) return Promise.resolve(true);
    const { signal } = options;
    if (signal?.aborted || options.timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const check = () => {
        if (this.hasAgent(agentIdentifier)) done(true);
      };
      // A connection here wakes the waiter at once; one on another replica is known from
      // presence, which has no event of its own here: look a few times a second.
      const poll = setInterval(check, AGENT_WAIT_POLL_MS);
      const timer = setTimeout(() => done(false), options.timeoutMs);
      const abort = () => done(false);
      const done = (found: boolean) => {
        clearInterval(poll);
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        this.agentWaiters.delete(check);
        resolve(found);
      };
      this.agentWaiters.add(check);
      signal?.addEventListener('abort', abort, { once: true });
    });
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

  /** Every agent connection on every replica, grouped by identifier. */
  list(): AgentGroup[] {
    const replicaId = this.options.replicaId ?? 'local';
    const all = [
      ...this.localConnections().map((c) => ({ ...c, replicaId })),
      ...(this.remote?.connections() ?? []),
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

  get streamsInFlight(): number {
    return this.inFlight;
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

  private get maxBuffered(): number {
    return this.options.agentMaxBufferedBytes ?? Number.POSITIVE_INFINITY;
  }

  /**
   * The one door to agents: a live connection on this replica if there is one, else one on
   * another replica (the call is forwarded there and streamed back), else
   * BRL_ERR_AGENT_NOT_CONNECTED. A forwarded call fails with the same codes a local one would.
   */
  async dispatch(agentIdentifier: string, request: DispatchRequest): Promise<DispatchResponse> {
    return this.route(agentIdentifier, request, true);
  }

  /** This replica's agents only: how a call forwarded from another replica is answered. */
  async dispatchLocal(agentIdentifier: string, request: DispatchRequest): Promise<DispatchResponse> {
    return this.route(agentIdentifier, request, false);
  }

  private async route(
    agentIdentifier: string,
    request: DispatchRequest,
    mayForward: boolean,
  ): Promise<DispatchResponse> {
    if (this.inFlight >= this.options.maxStreams) {
      throw new BorealisError(
        'BRL_ERR_RELAY_OVERLOADED',
        `This control plane carries ${this.inFlight} streams, its limit (BOREALIS_MAX_STREAMS); retry later`,
        { retryable: true },
      );
    }
    const headers = toHeaderList(request.headers);
    const head = {
      method: request.method.toUpperCase(),
      url: request.url,
      headers,
      timeoutMs: request.timeoutMs ?? 0,
      ...(request.logUrl === undefined ? {} : { logUrl: request.logUrl }),
    };
    let session: AgentSession | undefined;
    let localError: unknown;
    try {
      session = this.pick(agentIdentifier);
    } catch (err) {
      localError = err;
    }
    if (session) {
      const s = session;
      const agent = { agentIdentifier, instanceId: s.meta.instanceId, sessionId: s.sessionId };
      return this.carry(agent, request, s.logger, (signal) => s.request(head, request.body ?? null, signal));
    }
    const remote = mayForward ? this.pickRemote(agentIdentifier) : undefined;
    if (!remote || !this.remote) throw localError;
    const via = this.remote;
    const agent = {
      agentIdentifier,
      instanceId: remote.instanceId,
      sessionId: remote.sessionId,
      replicaId: remote.replicaId,
    };
    const key = remote.sessionId;
    this.forwarded.set(key, (this.forwarded.get(key) ?? 0) + 1);
    const done = () => {
      const n = (this.forwarded.get(key) ?? 1) - 1;
      if (n <= 0) this.forwarded.delete(key);
      else this.forwarded.set(key, n);
    };
    try {
      const res = await this.carry(agent, request, this.options.logger, async (signal) => {
        const r: ForwardedResponse = await via.forward(
          remote.replicaId,
          agentIdentifier,
          head,
          request.body,
          signal,
        );
        agent.instanceId = r.instanceId || agent.instanceId;
        agent.sessionId = r.sessionId || agent.sessionId;
        return r;
      });
      res.body.once('close', done);
      return res;
    } catch (err) {
      done();
      throw err;
    }
  }

  /** The remote connection with the fewest streams in flight (as last announced, plus ours since). */
  private pickRemote(
    agentIdentifier: string,
  ): { replicaId: string; instanceId: string; sessionId: string } | undefined {
    let best: { replicaId: string; instanceId: string; sessionId: string } | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const c of this.remote?.connections() ?? []) {
      if (c.agentIdentifier !== agentIdentifier || c.draining) continue;
      const load = c.streamsInFlight + (this.forwarded.get(c.sessionId) ?? 0);
      if (load < bestLoad) {
        best = c;
        bestLoad = load;
      }
    }
    return best;
  }

  /** Runs one call with the caller's signal and timeout, counting it while its body is open. */
  private async carry(
    agent: DispatchResponse['agent'],
    request: DispatchRequest,
    logger: Logger,
    open: (
      signal: AbortSignal | undefined,
    ) => Promise<{ status: number; headers: HeaderList; body: Readable; stream?: TunnelStream | undefined }>,
  ): Promise<DispatchResponse> {
    const signals: AbortSignal[] = [];
    if (request.signal) signals.push(request.signal);
    if (request.timeoutMs && request.timeoutMs > 0) signals.push(AbortSignal.timeout(request.timeoutMs));
    const signal =
      signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    this.inFlight++;
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        this.inFlight--;
      }
    };
    const began = performance.now();
    try {
      const res = await open(signal);
      this.streamsTotal++;
      this.onDispatched?.((performance.now() - began) / 1000, 'ok');
      // A failure after the head (the agent dies mid-body) reaches the reader with the same
      // codes as one before it.
      if (res.stream) {
        res.stream.mapError = (e) =>
          this.translate(e, agent.agentIdentifier, agent.instanceId, request, signal);
      }
      res.body.once('close', release);
      res.body.once('error', (err) => logger.debug({ err: (err as Error).message }, 'response body failed'));
      return { status: res.status, headers: res.headers, body: res.body, agent };
    } catch (err) {
      release();
      const failure = this.translate(err, agent.agentIdentifier, agent.instanceId, request, signal);
      this.onDispatched?.((performance.now() - began) / 1000, failure.code);
      throw failure;
    }
  }

  /** For metrics: streams opened through this replica's agents, and WebSocket bytes each way. */
  streamsTotal = 0;
  bytesFromAgents = 0;
  bytesToAgents = 0;
  /** For metrics: called once per dispatch with the time to the answer's head and its outcome. */
  onDispatched: ((seconds: number, outcome: string) => void) | undefined;

  closeAll(): void {
    for (const g of this.groups.values()) for (const s of g) s.close();
  }

  private translate(
    err: unknown,
    agentIdentifier: string,
    instanceId: string,
    request: DispatchRequest,
    signal: AbortSignal | undefined,
  ): BorealisError {
    // Already ours: a forwarded call's failure, with the code the other replica gave it.
    if (err instanceof BorealisError) return err;
    if (!(err instanceof ProtocolError)) {
      return new BorealisError('BRL_ERR_INTERNAL', `Dispatch failed: ${String(err)}`, { cause: err });
    }
    let code = streamErrorCodes[err.code] ?? 'BRL_ERR_AGENT_REFUSED';
    let message = err.message;
    if (err.code === 'BRL_STREAM_CANCELLED' && signal?.aborted && !request.signal?.aborted) {
      code = 'BRL_ERR_DISPATCH_TIMEOUT';
      message = `No answer through agent "${agentIdentifier}" within ${request.timeoutMs} ms`;
    } else if (code === 'BRL_ERR_AGENT_DISCONNECTED') {
      message = `Agent "${agentIdentifier}" (instance ${instanceId}) disconnected while the request was in flight: ${err.message}`;
    }
    return new BorealisError(code, message, {
      cause: err,
      retryable: err.retryable,
      details: { agentIdentifier, instanceId, agentCode: err.code },
    });
  }
}

// What the tunnel's codec accepts; checked here so a bad header fails this one call with a clear
// error instead of reaching the agent as a malformed frame that would close its connection.
const HEADER_NAME = HTTP_TOKEN_PATTERN;
const HEADER_VALUE = HEADER_VALUE_PATTERN;

function toHeaderList(headers: DispatchRequest['headers']): HeaderList {
  const list: HeaderList = !headers ? [] : Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [name, value] of list) {
    if (!HEADER_NAME.test(name)) {
      throw new BorealisError(
        'BRL_ERR_BAD_REQUEST',
        `Header name ${JSON.stringify(name)} is not a valid HTTP token`,
      );
    }
    if (!HEADER_VALUE.test(value)) {
      throw new BorealisError(
        'BRL_ERR_BAD_REQUEST',
        `Header ${name} has a value with CR, LF, NUL or non-Latin-1 characters`,
      );
    }
  }
  return list;
}
