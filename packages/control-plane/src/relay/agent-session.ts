import {
  AgentFeatures,
  CloseCodes,
  dropIfSilent,
  heartbeatTimeoutMs,
  messageBytes,
  type RequestHead,
  subprotocolVersion,
  Tunnel,
  webSocketSink,
} from '@borealis/protocol';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';

/** Who is on the other end of one agent connection, as the Agents list shows it. */
export interface AgentConnectionMeta {
  agentIdentifier: string;
  instanceId: string;
  version: string;
  clientId: string;
  remoteAddress: string;
  /** The credential's name, as its creator gave it. */
  credentialName: string;
  /** The credential may serve identifiers through a `*` pattern (shown as a warning in lists). */
  wildcard: boolean;
  /** `AgentFeatures` the agent announced. */
  features: string[];
}

export interface AgentConnectionInfo extends AgentConnectionMeta {
  sessionId: string;
  connectedAt: number;
  lastHeartbeatAt: number | null;
  lastFrameAt: number;
  rttMs: number | null;
  streamsInFlight: number;
  bufferedBytes: number;
  draining: boolean;
}

export interface AgentSessionOptions {
  heartbeatIntervalMs: number;
  maxStreams: number;
  windowBytes: number;
  logger: Logger;
  onClose: (session: AgentSession, code: number, reason: string) => void;
  /** Bytes on the WebSocket, for metrics: `out` to the agent, `in` from it. */
  onBytes?: (direction: 'in' | 'out', bytes: number) => void;
}

/**
 * One agent connection: a WebSocket with a requester-side Tunnel on it. The tunnel owns the
 * protocol; this class only joins it to the socket and remembers who the agent is.
 */
export class AgentSession {
  readonly tunnel: Tunnel;
  readonly connectedAt = Date.now();
  readonly logger: Logger;

  constructor(
    ws: WebSocket,
    readonly meta: AgentConnectionMeta,
    options: AgentSessionOptions,
  ) {
    this.tunnel = new Tunnel({
      role: 'requester',
      version: subprotocolVersion(ws.protocol),
      sink: webSocketSink(ws, (bytes) => options.onBytes?.('out', bytes)),
      window: options.windowBytes,
      maxConcurrentStreams: options.maxStreams,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      heartbeatTimeoutMs: heartbeatTimeoutMs(options.heartbeatIntervalMs),
      onPeerDraining: () => this.logger.info('agent is draining; no new streams go to it'),
      onClose: (info) => {
        if (info.error) {
          this.logger.warn(
            { code: info.error.code, closeCode: info.code },
            `closed the agent connection: ${info.error.message}`,
          );
        }
        dropIfSilent(ws, info);
        options.onClose(this, info.code, info.reason);
      },
    });
    this.logger = options.logger.child({
      agentIdentifier: meta.agentIdentifier,
      instanceId: meta.instanceId,
      sessionId: this.tunnel.sessionId,
    });
    ws.on('message', (data, isBinary) => {
      options.onBytes?.('in', (data as Buffer).byteLength ?? 0);
      this.tunnel.receive(messageBytes(data, isBinary));
    });
    ws.on('close', (code, reason) => this.tunnel.transportClosed(code, reason.toString()));
    ws.on('error', (err) => this.logger.warn({ err: err.message }, 'agent socket error'));
    this.tunnel.welcome(options.heartbeatIntervalMs);
  }

  get sessionId(): string {
    return this.tunnel.sessionId;
  }

  get draining(): boolean {
    return this.tunnel.draining;
  }

  get streamsInFlight(): number {
    return this.tunnel.streamCount;
  }

  info(): AgentConnectionInfo {
    const stats = this.tunnel.stats();
    return {
      ...this.meta,
      sessionId: this.sessionId,
      connectedAt: this.connectedAt,
      lastHeartbeatAt: stats.lastHeartbeatAt,
      lastFrameAt: stats.lastFrameAt,
      rttMs: stats.rttMs,
      streamsInFlight: stats.streams,
      bufferedBytes: stats.bufferedBytes,
      draining: this.tunnel.draining,
    };
  }

  /** Opens a stream; the loggable path goes only to agents that understand it. */
  request(head: RequestHead, body: Parameters<Tunnel['request']>[1], signal: AbortSignal | undefined) {
    if (head.logUrl === undefined || this.meta.features.includes(AgentFeatures.logUrl)) {
      return this.tunnel.request(head, body, signal);
    }
    const { logUrl: _, ...rest } = head;
    return this.tunnel.request(rest, body, signal);
  }

  close(code: number = CloseCodes.goingAway, reason = 'control plane shutting down'): void {
    this.tunnel.close(code, reason);
  }
}
