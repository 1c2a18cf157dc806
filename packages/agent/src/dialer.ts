import type { IncomingMessage } from 'node:http';
import {
  AgentFeatures,
  AgentHeaders,
  CloseCodes,
  decodeFrame,
  dropIfSilent,
  formatDuration,
  HeartbeatDefaults,
  heartbeatTimeoutMs,
  isPermanentRefusal,
  messageBytes,
  offeredSubprotocols,
  PROTOCOL_VERSION,
  parseRefusal,
  type Refusal,
  readRefusalBody,
  SUPPORTED_PROTOCOL_VERSIONS,
  SUPPORTED_VERSIONS_HEADER,
  subprotocolVersion,
  TUNNEL_WEBSOCKET_OPTIONS,
  Tunnel,
  versionsPhrase,
  type WelcomeFrame,
  webSocketSink,
} from '@borealis/protocol';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { CompiledAgentOptions } from './agent-options.js';
import { Backoff } from './backoff.js';
import type { StreamHandler } from './executor.js';
import type { AgentMetrics } from './metrics.js';
import { ConnectProxyAgent } from './proxy.js';

/**
 * The dialer: keeps one WebSocket to the control plane open, runs a responder `Tunnel` over it,
 * and reconnects with exponential backoff and full jitter when it drops.
 *
 * Backoff reset: the attempt counter goes back to zero only after a connection that received
 * WELCOME *and* stayed up for `stableAfterMs` (10 s by default). Resetting on WELCOME alone would
 * let a control plane that accepts and then immediately drops agents (a crash loop, an overloaded
 * replica) pull every agent into a sub-second reconnect loop.
 */
export const DialerState = {
  connecting: 'connecting',
  connected: 'connected',
  backoff: 'backoff',
  draining: 'draining',
  stopped: 'stopped',
  /** The control plane revoked this agent's credential: no more dialling (see `Dialer`). */
  revoked: 'revoked',
} as const;
export type DialerStateName = (typeof DialerState)[keyof typeof DialerState];

/** Before WELCOME we do not know the control plane's heartbeat; these bound the wait for it. */
const PRE_WELCOME_HEARTBEAT_MS = HeartbeatDefaults.intervalMs;
const PRE_WELCOME_TIMEOUT_MS = 10_000;
/** A hostile or broken WELCOME must not make the agent ping in a busy loop or never. */
const HEARTBEAT_BOUNDS_MS = [100, 300_000] as const;
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** The control plane's code for a revoked credential in a refused upgrade. */
const REVOKED_CODE = 'BRL_ERR_AGENT_CREDENTIAL_REVOKED';
/**
 * Close codes of a control plane that went away on purpose (shutdown, drain, rolling upgrade):
 * nothing is wrong with this agent or the network, another replica is (or will soon be) there.
 */
const CLEAN_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCodes.normal,
  CloseCodes.goingAway,
  1012, // service restart
]);
/** After a clean close the first redial comes within this window (jitter spreads a fleet)... */
const CLEAN_CLOSE_JITTER_MS = 1_000;
/** ...and the redials after it are capped this low until a connection is welcomed again. */
const CLEAN_CLOSE_MAX_MS = 3_000;

export interface DialerOptions {
  options: CompiledAgentOptions;
  logger: Logger;
  metrics: AgentMetrics;
  onStream: StreamHandler;
  /** The agent's own version, announced in the upgrade request. */
  agentVersion: string;
  onConnected?: (sessionId: string) => void;
  /** The credential was revoked: the dialler stopped for good. */
  onRevoked?: (reason: string) => void;
}

interface Attempt {
  welcomedAt?: number;
  /** The close code, when the control plane closed a welcomed connection. */
  closeCode?: number;
  refusal?: Refusal;
  error?: string;
  /** The control plane said this agent's credential is revoked (close code or 401 refusal). */
  revoked?: string;
}

export class Dialer {
  state: DialerStateName = DialerState.connecting;
  sessionId: string | null = null;
  /** The last reason the agent is not connected, for /readyz. */
  lastError: string | null = 'not connected yet';
  /** Successful connections (WELCOME received) so far. */
  connections = 0;
  /** Attempts to open a WebSocket, successful or not. */
  attempts = 0;

  private readonly backoff: Backoff;
  private readonly proxyAgent: ConnectProxyAgent | undefined;
  private ws: WebSocket | undefined;
  private tunnel: Tunnel | undefined;
  private stopping = false;
  private draining = false;
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private connectionSeq = 0;
  /** The control plane last closed cleanly; no connection since: keep redial delays short. */
  private afterCleanClose = false;

  constructor(private readonly deps: DialerOptions) {
    const { options } = deps;
    this.backoff = new Backoff(options.reconnectBaseMs, options.reconnectMaxMs, options.random);
    this.proxyAgent = options.proxy
      ? new ConnectProxyAgent(options.proxy, options.connectUrl.protocol === 'wss:')
      : undefined;
  }

  start(): void {
    this.loopDone = this.loop();
  }

  get streamsInFlight(): number {
    return this.tunnel?.streamCount ?? 0;
  }

  /**
   * Tells the control plane to send no new streams, waits up to `graceMs` for those in flight,
   * then closes with the `drained` close code. No reconnect follows.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.draining || this.stopping) return this.loopDone;
    this.draining = true;
    this.state = DialerState.draining;
    this.wake?.();
    const tunnel = this.tunnel;
    if (tunnel && !tunnel.closed) {
      tunnel.drain();
      this.deps.logger.info({ inFlight: tunnel.streamCount, graceMs }, 'draining');
      const deadline = Date.now() + graceMs;
      while (tunnel.streamCount > 0 && !tunnel.closed && Date.now() < deadline) {
        await sleep(Math.min(25, Math.max(1, deadline - Date.now())));
      }
      if (tunnel.streamCount > 0) {
        this.deps.logger.warn(
          { abandoned: tunnel.streamCount, graceMs },
          'drain grace expired; closing with streams still in flight',
        );
      }
      tunnel.close(CloseCodes.drained, 'agent drained');
    } else {
      this.ws?.terminate();
    }
    await this.settle();
    this.state = DialerState.stopped;
    this.deps.logger.info('drained');
  }

  /** Closes at once (in-flight streams fail as disconnected on the control plane's side). */
  async stop(): Promise<void> {
    if (this.stopping) return this.loopDone;
    this.stopping = true;
    this.wake?.();
    if (this.tunnel && !this.tunnel.closed) this.tunnel.close(CloseCodes.goingAway, 'agent stopping');
    else this.ws?.terminate();
    await this.settle();
    this.state = DialerState.stopped;
  }

  /** Waits for the loop to end; a peer that never answers our close is cut off after 5 s. */
  private async settle(): Promise<void> {
    const timer = setTimeout(() => this.ws?.terminate(), 5_000);
    try {
      await this.loopDone;
    } finally {
      clearTimeout(timer);
      this.proxyAgent?.destroy();
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping && !this.draining) {
      this.state = DialerState.connecting;
      const attempt = await this.connectOnce();
      if (this.stopping || this.draining) return;
      if (attempt.revoked !== undefined) {
        // Redialling cannot help: the secret is dead. Stay up, not ready, saying why, so a
        // supervisor that restarts failed processes does not turn this into a loop of its own.
        this.state = DialerState.revoked;
        this.metrics.connected = 0;
        this.lastError = `credential revoked: ${attempt.revoked}`;
        this.deps.logger.error(
          { clientId: this.options.clientId, identifier: this.options.identifier },
          `this agent's credential ${this.options.clientId} was revoked by the control plane (${attempt.revoked}); not dialling again. Create a new one (borealis agent-credentials create --name NAME --identifier ${this.options.identifier}), set BOREALIS_CLIENT_ID and BOREALIS_CLIENT_SECRET to it and restart the agent`,
        );
        this.deps.onRevoked?.(this.lastError);
        return;
      }
      const { delayMs: delay, ceilingMs } = this.nextDelay(attempt);
      this.metrics.reconnectsTotal++;
      this.state = DialerState.backoff;
      this.deps.logger.info(
        { delayMs: delay, ceilingMs, attempt: this.backoff.attempts, lastError: this.lastError },
        `reconnecting in ${formatDuration(delay)}`,
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private get metrics(): AgentMetrics {
    return this.deps.metrics;
  }

  private get options(): CompiledAgentOptions {
    return this.deps.options;
  }

  /** The wait before the next dial, and the ceiling it was drawn under (logged, for people). */
  private nextDelay(attempt: Attempt): { delayMs: number; ceilingMs: number } {
    // Retrying soon cannot fix a refusal that is about this agent (see isPermanentRefusal).
    if (isPermanentRefusal(attempt.refusal?.status)) {
      const delayMs = this.backoff.penalty();
      return { delayMs, ceilingMs: delayMs };
    }
    if (attempt.welcomedAt !== undefined && attempt.closeCode !== undefined) {
      // The control plane closed on purpose (it is shutting down or draining): redial at once,
      // jittered, and do not let the backoff grow past a few seconds while replicas restart.
      // A crash loop shows as unclean closes and backs off as usual.
      if (CLEAN_CLOSE_CODES.has(attempt.closeCode)) {
        this.afterCleanClose = true;
        this.backoff.reset();
        const ceilingMs = Math.min(CLEAN_CLOSE_JITTER_MS, this.options.reconnectMaxMs);
        return { delayMs: this.backoff.jitter(ceilingMs), ceilingMs };
      }
      this.afterCleanClose = false;
    }
    if (attempt.welcomedAt !== undefined && Date.now() - attempt.welcomedAt >= this.options.stableAfterMs) {
      this.backoff.reset();
    }
    const cap = this.afterCleanClose ? CLEAN_CLOSE_MAX_MS : undefined;
    const ceilingMs = this.backoff.ceiling(cap);
    return { delayMs: this.backoff.next(cap), ceilingMs };
  }

  private connectOnce(): Promise<Attempt> {
    const { options } = this;
    const attempt: Attempt = {};
    const seq = ++this.connectionSeq;
    const log = this.deps.logger.child({ connection: seq });
    this.attempts++;
    return new Promise<Attempt>((resolve) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(options.connectUrl, offeredSubprotocols(), {
          headers: {
            authorization: options.authorization,
            [AgentHeaders.identifier]: options.identifier,
            [AgentHeaders.instanceId]: options.instanceId,
            [AgentHeaders.version]: this.deps.agentVersion,
            [AgentHeaders.features]: AgentFeatures.logUrl,
          },
          ...TUNNEL_WEBSOCKET_OPTIONS,
          handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
          followRedirects: false,
          ...(options.ca ? { ca: options.ca } : {}),
          ...(this.proxyAgent ? { agent: this.proxyAgent } : {}),
        });
      } catch (err) {
        this.lastError = `cannot dial ${options.connectUrl.href}: ${(err as Error).message}`;
        resolve(attempt);
        return;
      }
      this.ws = ws;
      let tunnel: Tunnel | undefined;
      let welcomeTimer: NodeJS.Timeout | undefined;

      ws.on('unexpected-response', (_req, res) => {
        readRefusalBody(res).then((body) => {
          attempt.refusal = parseRefusal(res.statusCode ?? 0, res.statusMessage, body);
          if (attempt.refusal.code === REVOKED_CODE) attempt.revoked = attempt.refusal.message;
          else this.lastError = this.logRefusal(log, attempt.refusal, res);
          ws.terminate();
        });
      });
      ws.on('open', () => {
        log.debug(
          { url: options.connectUrl.origin + options.connectUrl.pathname },
          'websocket open; waiting for WELCOME',
        );
        welcomeTimer = setTimeout(() => {
          attempt.error = `no WELCOME within ${PRE_WELCOME_TIMEOUT_MS} ms`;
          ws.close(CloseCodes.heartbeatTimeout, 'no WELCOME');
        }, PRE_WELCOME_TIMEOUT_MS);
      });
      ws.on('message', (data: Buffer, isBinary) => {
        this.metrics.bytesReceivedTotal += data.byteLength;
        const bytes = messageBytes(data, isBinary);
        if (!tunnel) {
          clearTimeout(welcomeTimer);
          tunnel = this.createTunnel(ws, bytes, attempt, log);
          this.tunnel = tunnel;
        }
        tunnel.receive(bytes);
      });
      ws.on('error', (err) => {
        // After a refusal, ws reports its own abort; the refusal is the story worth telling.
        if (attempt.refusal) return;
        attempt.error ??= err.message;
        this.lastError = `cannot reach the control plane at ${options.connectUrl.origin}: ${err.message}`;
        log.warn(
          { err: { message: err.message, code: (err as { code?: string }).code } },
          'connection failed',
        );
      });
      ws.on('close', (code, reasonBuf) => {
        clearTimeout(welcomeTimer);
        const reason = reasonBuf.toString();
        if (code === CloseCodes.credentialRevoked) attempt.revoked = reason || 'closed with 4003';
        tunnel?.transportClosed(code, reason);
        if (this.ws === ws) this.ws = undefined;
        if (this.tunnel === tunnel) this.tunnel = undefined;
        if (attempt.welcomedAt !== undefined) {
          if (!this.stopping && !this.draining) attempt.closeCode = code;
          this.metrics.connected = 0;
          this.sessionId = null;
          this.lastError = `disconnected: ${code}${reason ? ` ${reason}` : ''}${attempt.error ? ` (${attempt.error})` : ''}`;
          log.warn({ code, reason, upMs: Date.now() - attempt.welcomedAt }, 'disconnected');
        } else if (attempt.error && !attempt.refusal) {
          this.lastError = `connection closed before WELCOME: ${attempt.error}`;
        }
        resolve(attempt);
      });
    });
  }

  /**
   * The tunnel is built on the first message, which is the control plane's WELCOME, so its
   * heartbeat can follow the interval the control plane announces (timeout = 3 intervals).
   */
  private createTunnel(ws: WebSocket, first: Uint8Array, attempt: Attempt, log: Logger): Tunnel {
    let welcome: WelcomeFrame | undefined;
    try {
      const frame = decodeFrame(first);
      if (frame.type === 'welcome') welcome = frame;
    } catch {
      // The tunnel reports the malformed frame itself when it receives it.
    }
    const interval = welcome
      ? Math.min(HEARTBEAT_BOUNDS_MS[1], Math.max(HEARTBEAT_BOUNDS_MS[0], welcome.heartbeatMs))
      : PRE_WELCOME_HEARTBEAT_MS;
    const { options } = this;
    return new Tunnel({
      role: 'responder',
      version: subprotocolVersion(ws.protocol),
      sink: webSocketSink(ws, (bytes) => {
        this.metrics.bytesSentTotal += bytes;
      }),
      maxConcurrentStreams: options.maxStreams,
      ...(welcome ? { window: welcome.window } : {}),
      heartbeatIntervalMs: interval,
      heartbeatTimeoutMs: heartbeatTimeoutMs(interval),
      onStream: this.deps.onStream,
      onWelcome: (w) => {
        if (attempt.welcomedAt !== undefined) return;
        attempt.welcomedAt = Date.now();
        this.sessionId = w.sessionId;
        this.connections++;
        this.lastError = null;
        this.metrics.connected = 1;
        if (!this.draining && !this.stopping) this.state = DialerState.connected;
        log.info(
          {
            identifier: options.identifier,
            sessionId: w.sessionId,
            instanceId: options.instanceId,
            heartbeatMs: interval,
            maxStreams: w.maxStreams,
            window: w.window,
          },
          'connected',
        );
        this.deps.onConnected?.(w.sessionId);
      },
      onHeartbeat: (rttMs) => {
        this.metrics.heartbeatRttSeconds = rttMs / 1000;
      },
      onClose: (info) => {
        if (info.error) {
          attempt.error = `${info.error.code}: ${info.error.message}`;
          log.warn({ code: info.code, error: info.error.code }, 'tunnel failed');
          // Without this the socket (and the redial) would wait for ws's 30 s close timeout.
          dropIfSilent(ws, info);
        }
      },
    });
  }

  private logRefusal(log: Logger, r: Refusal, res: IncomingMessage): string {
    const { options } = this;
    const text = `control plane refused the connection: ${r.status} ${r.code}: ${r.message}`;
    if (r.status === 401 || r.status === 403) {
      log.error(
        { status: r.status, code: r.code, clientId: options.clientId, identifier: options.identifier },
        `${text} (check BOREALIS_CLIENT_ID, BOREALIS_CLIENT_SECRET and that the credential may serve this identifier)`,
      );
    } else if (r.status === 426) {
      const theirs = String(res.headers[SUPPORTED_VERSIONS_HEADER] ?? 'unknown');
      const ours = versionsPhrase(SUPPORTED_PROTOCOL_VERSIONS, 'v');
      log.error(
        {
          status: r.status,
          code: r.code,
          agentProtocol: PROTOCOL_VERSION,
          agentProtocols: ours,
          controlPlaneProtocols: theirs,
        },
        `${text} (this agent speaks protocol ${ours}; the control plane speaks ${theirs}: upgrade the older side)`,
      );
      return `${text} (agent protocol ${ours}, control plane ${theirs})`;
    } else if (isPermanentRefusal(r.status)) {
      log.error({ status: r.status, code: r.code }, text);
    } else {
      log.warn({ status: r.status, code: r.code }, text);
    }
    return text;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
