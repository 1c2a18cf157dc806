import type { Readable } from 'node:stream';
import type { HeaderList, TunnelStream } from '@borealis/protocol';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { BorealisError } from '../errors.js';
import { AgentRegistry } from './agent-registry.js';
import type { AgentConnectionInfo, AgentConnectionMeta, AgentSession } from './agent-session.js';
import { toHeaderList, translateDispatchError } from './dispatch-errors.js';
import type { ForwardedResponse, RemoteAgents } from './remote-agents.js';
import type { AgentGroup, Dispatcher, DispatchRequest, DispatchResponse } from './types.js';

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

/**
 * Dispatches calls to agents: to a connection on this replica (`AgentRegistry` picks it), else
 * forwarded to the replica that holds one (`RemoteAgents`), counting and timing each call and
 * giving its failures the control plane's codes (`dispatch-errors.ts`).
 */
export class RelayHub implements Dispatcher {
  private readonly registry: AgentRegistry;
  private inFlight = 0;
  private remote: RemoteAgents | undefined;
  /** Calls this replica forwards per remote session, to spread load between presence updates. */
  private readonly forwarded = new Map<string, number>();
  /** Callers of `waitForAgent`, woken when a connection arrives here (presence is polled). */
  private readonly agentWaiters = new Set<() => void>();

  constructor(private readonly options: RelayHubOptions) {
    this.registry = new AgentRegistry({
      ...options,
      onAccepted: () => {
        for (const wake of [...this.agentWaiters]) wake();
      },
      onBytes: (direction, bytes) => {
        if (direction === 'in') this.bytesFromAgents += bytes;
        else this.bytesToAgents += bytes;
      },
    });
  }

  /** Agents on other replicas become reachable through `dispatch` (scale-out). */
  attachRemote(remote: RemoteAgents): void {
    this.remote = remote;
  }

  /** Local connections, flat (what presence announces). */
  localConnections(): AgentConnectionInfo[] {
    return this.registry.localConnections();
  }

  /** Takes an authenticated agent's WebSocket (the upgrade hands it over). */
  accept(ws: WebSocket, meta: AgentConnectionMeta): AgentSession {
    return this.registry.accept(ws, meta);
  }

  hasAgent(agentIdentifier: string): boolean {
    return this.registry.hasLive(agentIdentifier) || this.pickRemote(agentIdentifier) !== undefined;
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
    return this.registry.sessionsOf(clientId);
  }

  /** This replica's live connections, every one. */
  sessions(): AgentSession[] {
    return this.registry.sessions();
  }

  /** Every agent connection on every replica, grouped by identifier. */
  list(): AgentGroup[] {
    return this.registry.list(this.remote);
  }

  get connectionCount(): number {
    return this.registry.connectionCount;
  }

  get streamsInFlight(): number {
    return this.inFlight;
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
      session = this.registry.pick(agentIdentifier);
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
          translateDispatchError(e, agent.agentIdentifier, agent.instanceId, request, signal);
      }
      const watch = (body: Readable) => {
        body.once('close', release);
        body.once('error', (err) => logger.debug({ err: (err as Error).message }, 'response body failed'));
        return body;
      };
      const stream = res.stream;
      if (!stream) return { status: res.status, headers: res.headers, body: watch(res.body), agent };
      // A tunnel stream makes its body only when it is asked for: a small answer taken whole
      // (`takeWholeBody`) never needs one, and is no longer in flight once taken.
      let body: Readable | undefined;
      // Should the stream fail first, the body is made then, as it was (destroyed with the
      // error, which releases the call), so a reader who never asked is not counted for good.
      stream.whenFailed(() => {
        body ??= watch(stream.body);
      });
      return {
        status: res.status,
        headers: res.headers,
        get body() {
          body ??= watch(stream.body);
          return body;
        },
        agent,
        takeWholeBody: () => {
          const whole = stream.takeWholeBody();
          if (whole !== undefined && body === undefined) release();
          return whole;
        },
      };
    } catch (err) {
      release();
      const failure = translateDispatchError(err, agent.agentIdentifier, agent.instanceId, request, signal);
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
    this.registry.closeAll();
  }
}
