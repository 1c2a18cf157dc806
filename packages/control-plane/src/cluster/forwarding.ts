import {
  type BodySource,
  CloseCodes,
  type FrameSink,
  type HeaderList,
  isProtocolErrorCode,
  ProtocolError,
  type RequestHead,
  Tunnel,
  type TunnelStream,
} from '@borealis/protocol';
import type { Logger } from 'pino';
import { BorealisError, isBorealisError } from '../errors.js';
import type { DispatchRequest, DispatchResponse, ForwardedResponse } from '../relay/index.js';
import type { BusMessage, ClusterBus } from './bus.js';
import { ClusterMessageError, type LinkEnvelope, LinkHeaders } from './messages.js';

/**
 * Forwarding a dispatch to the replica that holds the agent's connection, with no protocol of its
 * own: replica A runs a requester `Tunnel` per peer whose frames travel over the bus, and the peer
 * runs a responder `Tunnel` per requester that answers each stream by dispatching to its local
 * agent and piping the answer back. A forwarded call so gets the same per-stream credit flow
 * control, limits, cancellation and heartbeats as a call over an agent's WebSocket — end to end,
 * because each hop only reads as fast as the next one credits.
 *
 * What the tunnel's frames cannot say travels as reserved headers on the stream: the agent
 * identifier on the request, the carrying connection on the answer, and a control-plane error
 * (code, retryable, message) as an answer of its own, so a forwarded failure keeps its code.
 */
export const ForwardHeaders = {
  agent: 'borealis-forward-agent',
  instance: 'borealis-forward-instance',
  session: 'borealis-forward-session',
  error: 'borealis-forward-error',
  retryable: 'borealis-forward-retryable',
  /** The loggable path for the agent (a header, not the OPEN frame's field: replicas of an older
   * release would refuse a 7-field OPEN and drop the link). */
  logUrl: 'borealis-forward-log-url',
} as const;

const RESERVED = new Set<string>(Object.values(ForwardHeaders));

export interface ForwarderOptions {
  bus: ClusterBus;
  replicaId: string;
  /** This replica's own agents (never forwards again, so no loops). */
  local: (agentIdentifier: string, request: DispatchRequest) => Promise<DispatchResponse>;
  windowBytes: number;
  maxStreams: number;
  heartbeatIntervalMs: number;
  logger: Logger;
  /** A frame came from this replica: it is alive (presence counts it). */
  heard?: (replicaId: string) => void;
}

interface Link {
  tunnel: Tunnel;
  /** Names this requester tunnel; a new one (after a restart or failure) replaces the old. */
  session: string;
}

export class ReplicaForwarder {
  private readonly links = new Map<string, Link>();
  private readonly responders = new Map<string, Link>();
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;
  private offInterrupted: (() => void) | undefined;

  constructor(private readonly options: ForwarderOptions) {
    this.log = options.logger.child({ component: 'forwarding' });
  }

  start(): void {
    this.unsubscribe = this.options.bus.subscribe(`fwd.${this.options.replicaId}.>`, (m) => this.receive(m));
    this.offInterrupted = this.options.bus.onInterrupted(() => this.busInterrupted());
  }

  /**
   * The bus lost its connection: frames of open links may be lost, and a tunnel cannot tell (a
   * lost OPEN leaves its caller waiting for the whole call timeout; a lost RESET breaks the link
   * later with a protocol error). Every link ends now — its streams fail as disconnected, which
   * callers retry — and the next call opens a new one. The close reaches the peer when the bus is
   * back, so it ends its half too.
   */
  private busInterrupted(): void {
    const open = [...this.links.values(), ...this.responders.values()].filter((l) => !l.tunnel.closed);
    if (open.length === 0) return;
    this.log.warn({ links: open.length }, 'cluster bus interrupted: ending forwarding links');
    for (const l of open) {
      l.tunnel.close(
        CloseCodes.goingAway,
        'the cluster bus lost its connection; frames in flight may be lost',
      );
    }
  }

  /** Streams open through links to other replicas (both directions). */
  get streamCount(): number {
    let n = 0;
    for (const l of this.links.values()) n += l.tunnel.streamCount;
    for (const l of this.responders.values()) n += l.tunnel.streamCount;
    return n;
  }

  /** Opens a stream to `replicaId`, which dispatches it to its agent `agentIdentifier`. */
  async forward(
    replicaId: string,
    agentIdentifier: string,
    head: RequestHead,
    body: BodySource | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ForwardedResponse> {
    const link = this.linkTo(replicaId);
    const { logUrl, ...rest } = head;
    const reserved: HeaderList = [[ForwardHeaders.agent, agentIdentifier]];
    if (logUrl !== undefined) reserved.push([ForwardHeaders.logUrl, logUrl]);
    const res = await link.tunnel.request(
      { ...rest, headers: [...reserved, ...head.headers] },
      body ?? null,
      signal,
    );
    const errorCode = header(res.headers, ForwardHeaders.error);
    if (errorCode !== undefined) {
      let text = '';
      for await (const chunk of res.body) text += Buffer.from(chunk as Uint8Array).toString('utf8');
      let parsed: { message?: string; details?: Record<string, unknown> } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        // a message is a courtesy; the code is what matters
      }
      throw BorealisError.fromWire({
        code: errorCode,
        ...(typeof parsed.message === 'string' ? { message: parsed.message } : {}),
        retryable: header(res.headers, ForwardHeaders.retryable) === 'true',
        details: { ...(parsed.details ?? {}), replicaId },
      });
    }
    return {
      status: res.status,
      headers: res.headers.filter(([k]) => !RESERVED.has(k)),
      body: res.body,
      stream: res.stream,
      instanceId: header(res.headers, ForwardHeaders.instance) ?? '',
      sessionId: header(res.headers, ForwardHeaders.session) ?? '',
      replicaId,
    };
  }

  /** A replica is gone: every stream with it fails now instead of at its heartbeat timeout. */
  replicaGone(replicaId: string): void {
    const why = `control-plane replica ${replicaId} is gone`;
    this.links.get(replicaId)?.tunnel.transportClosed(CloseCodes.goingAway, why);
    this.responders.get(replicaId)?.tunnel.transportClosed(CloseCodes.goingAway, why);
  }

  close(): void {
    this.unsubscribe?.();
    this.offInterrupted?.();
    for (const l of [...this.links.values(), ...this.responders.values()]) {
      l.tunnel.close(CloseCodes.goingAway, 'control plane shutting down');
    }
  }

  private linkTo(replicaId: string): Link {
    const existing = this.links.get(replicaId);
    if (existing && !existing.tunnel.closed) return existing;
    const session = crypto.randomUUID();
    const tunnel = new Tunnel({
      role: 'requester',
      sessionId: session,
      sink: this.sink(replicaId, 'toResponder', session),
      window: this.options.windowBytes,
      maxConcurrentStreams: this.options.maxStreams,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.options.heartbeatIntervalMs * 3,
      onClose: (info) => {
        if (this.links.get(replicaId)?.session === session) this.links.delete(replicaId);
        this.log.info({ replicaId, code: info.code, reason: info.reason }, 'forwarding link closed');
      },
    });
    const link = { tunnel, session };
    this.links.set(replicaId, link);
    tunnel.welcome(this.options.heartbeatIntervalMs);
    return link;
  }

  private responderFor(from: string, session: string): Link {
    const existing = this.responders.get(from);
    if (existing && existing.session === session && !existing.tunnel.closed) return existing;
    // The requester started a new link (it restarted, or its old one failed): the old is dead.
    existing?.tunnel.transportClosed(CloseCodes.goingAway, 'replaced by a new link');
    const tunnel = new Tunnel({
      role: 'responder',
      sink: this.sink(from, 'toRequester', session),
      window: this.options.windowBytes,
      maxConcurrentStreams: this.options.maxStreams,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.options.heartbeatIntervalMs * 3,
      onStream: (stream, head) => this.serve(from, stream, head),
      onClose: () => {
        if (this.responders.get(from)?.session === session) this.responders.delete(from);
      },
    });
    const link = { tunnel, session };
    this.responders.set(from, link);
    return link;
  }

  private sink(peer: string, side: LinkEnvelope['side'], session: string): FrameSink {
    const topic = `fwd.${peer}.${this.options.replicaId}`;
    const headers = LinkHeaders.encode({ side, session });
    return {
      send: (bytes, done) => {
        this.options.bus.publish(topic, bytes, headers);
        // The bus buffers; per-stream credit is what bounds memory here.
        queueMicrotask(done);
      },
      close: (code, reason) => {
        this.options.bus.publish(
          topic,
          new Uint8Array(0),
          LinkHeaders.encode({ side, session, close: { code, reason } }),
        );
      },
    };
  }

  private receive(msg: BusMessage): void {
    const from = msg.topic.split('.')[2];
    if (!from) return;
    this.options.heard?.(from);
    const envelope = LinkHeaders.decode(msg.headers);
    if (envelope instanceof ClusterMessageError) {
      this.log.error({ from }, envelope.message);
      return;
    }
    const { side, session, close } = envelope;
    let link: Link | undefined;
    if (side === 'toResponder') {
      if (close) link = this.responders.get(from);
      else link = this.responderFor(from, session);
    } else {
      link = this.links.get(from);
    }
    if (!link || link.session !== session) return; // for a link that no longer exists
    if (close) link.tunnel.transportClosed(close.code, close.reason);
    else link.tunnel.receive(msg.data);
  }

  /** Responder side: one forwarded call, answered by this replica's own agent. */
  private serve(from: string, stream: TunnelStream, head: RequestHead): void {
    const agentIdentifier = header(head.headers, ForwardHeaders.agent);
    if (agentIdentifier === undefined) {
      void this.answerError(
        stream,
        new BorealisError('BRL_ERR_BAD_REQUEST', 'A forwarded call must name its agent identifier'),
      );
      return;
    }
    const logUrl = header(head.headers, ForwardHeaders.logUrl);
    this.options
      .local(agentIdentifier, {
        method: head.method,
        url: head.url,
        ...(logUrl === undefined ? {} : { logUrl }),
        headers: head.headers.filter(([k]) => !RESERVED.has(k)),
        body: stream.body,
        timeoutMs: head.timeoutMs,
        signal: stream.signal,
      })
      .then(
        (res) => this.pipeAnswer(stream, res),
        (err: unknown) =>
          this.answerError(
            stream,
            isBorealisError(err)
              ? err
              : new BorealisError('BRL_ERR_INTERNAL', `Forwarded dispatch failed: ${String(err)}`),
          ),
      )
      .catch((err: unknown) =>
        this.log.warn({ from, agentIdentifier, err: (err as Error).message }, 'forwarded answer failed'),
      );
  }

  private async pipeAnswer(stream: TunnelStream, res: DispatchResponse): Promise<void> {
    if (stream.ended) {
      res.body.destroy();
      return;
    }
    stream.respond(res.status, [
      ...res.headers,
      [ForwardHeaders.instance, res.agent.instanceId],
      [ForwardHeaders.session, res.agent.sessionId],
    ]);
    const stop = () => res.body.destroy();
    stream.signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const chunk of res.body) await stream.write(chunk as Uint8Array);
      stream.end();
      this.done(stream);
    } catch (err) {
      // The agent's own stream error (disconnected, timed out...) goes back with its code: the
      // local relay hands it over as a BorealisError naming the agent's code.
      const agentCode = isBorealisError(err) ? err.details?.agentCode : undefined;
      stream.reset(
        err instanceof ProtocolError
          ? err
          : isProtocolErrorCode(agentCode)
            ? new ProtocolError(agentCode, (err as Error).message, {
                retryable: (err as BorealisError).retryable,
              })
            : new ProtocolError(
                'BRL_STREAM_UPSTREAM_ERROR',
                `Reading the answer failed: ${(err as Error).message}`,
              ),
      );
    } finally {
      stream.signal.removeEventListener('abort', stop);
    }
  }

  private async answerError(stream: TunnelStream, err: BorealisError): Promise<void> {
    if (stream.ended) return;
    // The code and retryable travel as headers, the rest as the body (what older replicas read).
    const { code, retryable, message, details } = err.toWire();
    const headers: HeaderList = [
      [ForwardHeaders.error, code],
      [ForwardHeaders.retryable, String(retryable)],
      ['content-type', 'application/json'],
    ];
    stream.respond(err.status, headers);
    try {
      await stream.write(JSON.stringify({ message, details }));
      stream.end();
      this.done(stream);
    } catch {
      // the requester went away; nothing to tell
    }
  }

  /** The answer is complete: a request body still coming is not needed (stops only that direction). */
  private done(stream: TunnelStream): void {
    if (!stream.ended) {
      stream.reset(
        new ProtocolError(
          'BRL_STREAM_CANCELLED',
          'The answer is complete; the rest of the request body is not needed',
        ),
      );
    }
  }
}

function header(headers: HeaderList, name: string): string | undefined {
  for (const [k, v] of headers) if (k === name) return v;
  return undefined;
}
