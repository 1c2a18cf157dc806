import { randomUUID } from 'node:crypto';
import { type GatheredBody, gatherBody, gatherNow, inlineLimit } from './call-body.js';
import { decodeFrame, encodeFrame } from './codec.js';
import { CloseCodes, closeReason, notAllowed, ProtocolError } from './errors.js';
import { DEFAULT_WINDOW_BYTES, type Frame, Limits, type RequestHead } from './frames.js';
import { HeartbeatDefaults, heartbeatTimeoutMs } from './heartbeat.js';
import { type HeartbeatWheel, heartbeatWheel } from './heartbeat-wheel.js';
import { Liveness } from './liveness.js';
import { tunnelResponse } from './tunnel-response.js';
import { type BodySource, type StreamHost, TunnelStream } from './tunnel-stream.js';
import type {
  FrameSink,
  TunnelCloseInfo,
  TunnelOptions,
  TunnelResponse,
  TunnelRole,
  TunnelStats,
} from './tunnel-types.js';

export { closeReason } from './errors.js';
// Every tunnel-types name (FrameSink, TunnelCloseInfo/Options/Response/Role/Stats) is part of the tunnel's API.
export type * from './tunnel-types.js';

/**
 * One tunnel over one message transport, used by both ends: the control plane is the
 * `requester` (it opens streams), the agent the `responder` (it answers them). The transport is a
 * WebSocket between control plane and agent (see `websocket-transport.ts`), and the cluster bus
 * between replicas (`cluster/forwarding.ts`). Nothing here touches a socket — the owner feeds
 * received messages to `receive()` and gives a `FrameSink` to send on — so the whole protocol is
 * testable by feeding bytes.
 */
export class Tunnel {
  readonly role: TunnelRole;
  readonly version: 1 | 2 | 3;
  /** Largest chunk in one DATA frame, both ways: bigger from protocol v3 on. */
  readonly maxDataChunk: number;
  readonly sessionId: string;
  /** Window per stream; the responder adopts the requester's from WELCOME. */
  window: number;
  maxConcurrentStreams: number;
  /** Set once the peer (requester side) or this side (responder side) is draining. */
  draining = false;
  closed = false;

  private readonly sink: FrameSink;
  private readonly streams = new Map<number, TunnelStream>();
  private nextStreamId = 1;
  private highestPeerStream = 0;
  private outstanding = 0;
  private readonly maxOutstanding: number;
  private socketWaiters: Array<() => void> = [];
  private readonly liveness: Liveness;
  /** Heartbeats (and reconciliation) run from the process's one wheel for this interval. */
  private readonly wheel: HeartbeatWheel;
  private readonly wheelSlot: number;
  private readonly reconcileMs: number;
  private lastReconcileAt = Date.now();
  /**
   * `highest` of the last list sent while this side had no streams (-1: none since). The same
   * empty list again tells the peer nothing new — no stream can have appeared at or below it — so
   * an idle tunnel sends it once, not every period.
   */
  private idleListed = -1;
  /** Streams reaped by reconciliation: each one is a leak that was caught. */
  reapedStreams = 0;
  private closeInfo: TunnelCloseInfo | undefined;
  /** What this tunnel's streams may ask of it; kept off the public face. */
  private readonly host: StreamHost;

  constructor(private readonly options: TunnelOptions) {
    this.role = options.role;
    this.version = options.version ?? 1;
    this.maxDataChunk = this.version >= 3 ? Limits.maxDataChunkBytesV3 : Limits.maxChunkBytes;
    this.sink = options.sink;
    this.window = options.window ?? DEFAULT_WINDOW_BYTES;
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? 256;
    this.maxOutstanding = options.maxOutstandingBytes ?? 1024 * 1024;
    this.sessionId = options.sessionId ?? randomUUID();
    const tunnel = this;
    this.host = {
      role: this.role,
      get inlineLimit() {
        return tunnel.version >= 2 ? inlineLimit(tunnel.window) : 0;
      },
      maxDataChunk: this.maxDataChunk,
      send: (frame) => this.sendControl(frame),
      sendEncoded: (bytes) => this.sendBytes(bytes),
      socketReady: () => this.socketReady(),
      finished: (id) => this.streams.delete(id),
    };
    const interval = options.heartbeatIntervalMs ?? HeartbeatDefaults.intervalMs;
    this.liveness = new Liveness(interval, options.heartbeatTimeoutMs ?? heartbeatTimeoutMs(interval));
    this.reconcileMs = options.reconcileIntervalMs ?? 30_000;
    this.wheel = heartbeatWheel(interval);
    this.wheelSlot = this.wheel.join(this);
  }

  /** Lists this side's open streams to the peer (normally on a timer; public for tests). */
  sendStreamList(): void {
    if (this.closed || this.streams.size > Limits.maxReconcileIds) return;
    const highest = this.highestKnown();
    this.idleListed = this.streams.size === 0 ? highest : -1;
    this.sendControl({ type: 'streams', stream: 0, highest, ids: [...this.streams.keys()] });
  }

  private highestKnown(): number {
    return this.role === 'requester' ? this.nextStreamId - 1 : this.highestPeerStream;
  }

  /** Requester: the first frame, telling the agent who it talks to and the limits in force. */
  welcome(heartbeatMs: number): void {
    this.sendControl({
      type: 'welcome',
      stream: 0,
      sessionId: this.sessionId,
      maxStreams: this.maxConcurrentStreams,
      window: this.window,
      heartbeatMs,
    });
  }

  /** Requester: opens a stream and resolves with the response head; the body streams after. */
  request(head: RequestHead, body?: BodySource, signal?: AbortSignal): Promise<TunnelResponse> {
    if (this.role !== 'requester') throw new Error('only the requester opens streams');
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    if (this.version < 2) return this.open(head, { rest: body ?? null }, signal);
    const limit = inlineLimit(this.window);
    const now = gatherNow(body, head.headers, limit);
    if (now) return this.open(head, now, signal);
    return gatherBody(body, head.headers, limit, signal).then((gathered) => {
      const late = this.refusal();
      if (late) throw late;
      return this.open(head, gathered, signal);
    });
  }

  /** Why no stream can be opened now, if none can. */
  private refusal(): ProtocolError | undefined {
    if (this.closed) return new ProtocolError('BRL_STREAM_DISCONNECTED', 'The tunnel is closed');
    if (this.draining) return new ProtocolError('BRL_STREAM_DRAINING');
    if (this.streams.size >= this.maxConcurrentStreams) {
      return new ProtocolError(
        'BRL_STREAM_BUSY',
        `The tunnel has ${this.streams.size} streams open, its limit`,
      );
    }
    return undefined;
  }

  /** Sends OPEN (or, with the whole body, one v2 CALL) and streams the rest of the body. */
  private open(head: RequestHead, body: GatheredBody, signal?: AbortSignal): Promise<TunnelResponse> {
    const id = this.nextStreamId++;
    const stream = this.createStream(id);
    if ('whole' in body) {
      this.sendControl({ type: 'call', stream: id, ...head, body: body.whole, end: true });
      stream.sentWhole(body.whole.byteLength);
    } else this.sendControl({ type: 'open', stream: id, ...head });
    const response = stream.responseHead.then((h) => tunnelResponse(h, stream));
    if (signal) {
      const onAbort = () =>
        stream.reset(new ProtocolError('BRL_STREAM_CANCELLED', 'The caller cancelled the request'));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        stream.whenOver(() => signal.removeEventListener('abort', onAbort));
      }
    }
    if ('rest' in body) {
      stream.pipeFrom(body.rest).catch(() => {
        // pipeFrom resets the stream itself; the caller sees the reset through the response.
      });
    }
    return response;
  }

  /** Responder: stop taking streams and tell the requester so. */
  drain(): void {
    if (this.draining || this.closed) return;
    this.draining = true;
    this.sendControl({ type: 'drain', stream: 0 });
  }

  get streamCount(): number {
    return this.streams.size;
  }

  stats(): TunnelStats {
    let buffered = 0;
    for (const s of this.streams.values()) buffered += s.bufferedBytes();
    return {
      streams: this.streams.size,
      bufferedBytes: buffered,
      outstandingBytes: this.outstanding,
      lastFrameAt: this.liveness.lastFrameAt,
      lastHeartbeatAt: this.liveness.lastHeartbeatAt,
      rttMs: this.liveness.rttMs,
    };
  }

  /** Feed one received WebSocket message. Protocol violations close the connection. */
  receive(bytes: Uint8Array): void {
    if (this.closed) return;
    this.liveness.lastFrameAt = Date.now();
    let frame: Frame;
    try {
      frame = decodeFrame(bytes, this.maxDataChunk);
      this.handle(frame);
    } catch (err) {
      if (err instanceof ProtocolError && err.closeCode !== null) this.fail(err);
      else this.fail(new ProtocolError('BRL_PROTO_MALFORMED_FRAME', String(err), { cause: err }));
    }
  }

  /** Ends the connection because of `err`; streams fail with a disconnected error. */
  fail(err: ProtocolError): void {
    if (this.closed) return;
    const code = err.closeCode ?? CloseCodes.internalError;
    const reason = closeReason(`${err.code}: ${err.message}`);
    this.closeInfo = { code, reason, error: err };
    this.sink.close(code, reason);
    this.transportClosed(code, reason);
  }

  /** Closes politely (e.g. shutting down). */
  close(code: number = CloseCodes.normal, reason = 'closing'): void {
    if (this.closed) return;
    this.sink.close(code, closeReason(reason));
    this.transportClosed(code, reason);
  }

  /** The owner calls this when the socket is gone, whoever closed it. Idempotent. */
  transportClosed(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.wheel.leave(this, this.wheelSlot);
    const info = this.closeInfo ?? { code, reason };
    const err = new ProtocolError(
      'BRL_STREAM_DISCONNECTED',
      `The tunnel closed (${info.code}${info.reason ? ` ${info.reason}` : ''}) while the stream was open`,
    );
    for (const stream of [...this.streams.values()]) stream.terminate(err);
    this.streams.clear();
    this.releaseSocketWaiters();
    this.options.onClose?.(info);
  }

  // ---- internals -----------------------------------------------------------------------------

  private sendControl(frame: Frame): void {
    if (this.closed) return;
    this.sendBytes(encodeFrame(frame));
  }

  /** Sends one encoded frame, counting it as outstanding until the socket has written it. */
  private sendBytes(bytes: Uint8Array): void {
    if (this.closed) return;
    this.outstanding += bytes.byteLength;
    this.sink.send(bytes, () => {
      this.outstanding -= bytes.byteLength;
      if (this.outstanding <= this.maxOutstanding / 2) this.releaseSocketWaiters();
    });
  }

  /** Resolves when the socket has room for more body bytes. */
  private socketReady(): Promise<void> | undefined {
    if (this.outstanding <= this.maxOutstanding || this.closed) return undefined;
    return new Promise((resolve) => this.socketWaiters.push(resolve));
  }

  private releaseSocketWaiters(): void {
    const waiters = this.socketWaiters;
    this.socketWaiters = [];
    for (const w of waiters) w();
  }

  private createStream(id: number): TunnelStream {
    const stream = new TunnelStream(this.host, id, this.window);
    this.streams.set(id, stream);
    return stream;
  }

  /**
   * @internal The wheel's call, once per heartbeat interval: judge the peer's silence, ping, and
   * (every `reconcileIntervalMs`, to the nearest tick) list this side's streams.
   */
  tick(now: number): void {
    if (this.closed) return;
    if (this.liveness.silentAt(now)) {
      const ms = this.liveness.timeoutMs;
      this.fail(
        new ProtocolError('BRL_PROTO_HEARTBEAT_TIMEOUT', `No frame from the peer for more than ${ms} ms`),
      );
      return;
    }
    if (this.pingsDue(now)) this.sendControl({ type: 'ping', stream: 0, nonce: this.liveness.ping(now) });
    if (this.reconcileMs > 0 && !this.closed && now - this.lastReconcileAt >= this.reconcileMs) {
      this.lastReconcileAt = now;
      if (this.streams.size > 0 || this.idleListed !== this.highestKnown()) this.sendStreamList();
    }
  }

  /**
   * v1: both sides ping every tick. v2: the requester's pings (and the pongs to them) tell both
   * sides that the other lives, so the responder pings only when they stop coming for longer than
   * an interval and a half, and every tenth tick for its round-trip figure.
   */
  private pingsDue(now: number): boolean {
    if (this.role === 'requester' || this.version < 2) return true;
    return now - this.liveness.lastFrameAt > this.liveness.intervalMs * 1.5 || this.liveness.ticks % 10 === 0;
  }

  /** Stream a frame talks about, or undefined when it raced with a reset this side sent. */
  private streamFor(frame: Frame): TunnelStream | undefined {
    const stream = this.streams.get(frame.stream);
    if (stream) return stream;
    const known =
      this.role === 'requester' ? frame.stream < this.nextStreamId : frame.stream <= this.highestPeerStream;
    if (!known) {
      throw new ProtocolError(
        'BRL_PROTO_UNKNOWN_STREAM',
        `${frame.type} frame for stream ${frame.stream}, which was never opened`,
      );
    }
    return undefined; // a stream that ended here; its late frames are dropped
  }

  private handle(frame: Frame): void {
    switch (frame.type) {
      case 'open':
      case 'call':
        if (frame.type === 'call') this.needsV2(frame.type);
        this.onOpen(
          frame.stream,
          {
            method: frame.method,
            url: frame.url,
            headers: frame.headers,
            timeoutMs: frame.timeoutMs,
            ...(frame.logUrl === undefined ? {} : { logUrl: frame.logUrl }),
          },
          frame.type === 'call' ? frame : undefined,
        );
        return;
      case 'reply': {
        this.needsV2(frame.type);
        if (this.role !== 'requester') throw notAllowed(frame.type);
        const stream = this.streamFor(frame);
        stream?.onResponse({ status: frame.status, headers: frame.headers });
        stream?.onData(frame.body);
        if (frame.end) stream?.onEnd();
        return;
      }
      case 'response': {
        if (this.role !== 'requester') throw notAllowed(frame.type);
        this.streamFor(frame)?.onResponse({ status: frame.status, headers: frame.headers });
        return;
      }
      case 'data':
        this.streamFor(frame)?.onData(frame.chunk);
        return;
      case 'end':
        this.streamFor(frame)?.onEnd();
        return;
      case 'credit':
        this.streamFor(frame)?.onCredit(frame.bytes);
        return;
      case 'reset':
        this.streamFor(frame)?.onReset(
          ProtocolError.fromWire({ code: frame.code, message: frame.message, retryable: frame.retryable }),
        );
        return;
      case 'ping':
        this.sendControl({ type: 'pong', stream: 0, nonce: frame.nonce });
        return;
      case 'pong': {
        const rtt = this.liveness.pong(frame.nonce, Date.now());
        if (rtt !== undefined) this.options.onHeartbeat?.(rtt);
        return;
      }
      case 'drain':
        if (this.role !== 'requester') throw notAllowed(frame.type);
        this.draining = true;
        this.options.onPeerDraining?.();
        return;
      case 'streams':
        this.reconcile(frame.highest, frame.ids);
        return;
      case 'welcome':
        if (this.role !== 'responder') throw notAllowed(frame.type);
        this.window = frame.window;
        this.options.onWelcome?.(frame);
        return;
    }
  }

  private reconcile(peerHighest: number, peerIds: number[]): void {
    // Only streams the peer must already know of can be judged: an OPEN may still be in flight.
    const known = this.role === 'requester' ? Math.min(peerHighest, this.nextStreamId - 1) : peerHighest;
    const listed = new Set(peerIds);
    for (const stream of [...this.streams.values()]) {
      if (stream.id <= known && !listed.has(stream.id)) {
        this.reapedStreams++;
        stream.reset(
          new ProtocolError('BRL_STREAM_INTERNAL', `Stream ${stream.id} is unknown to the peer; reaped`),
        );
      }
    }
  }

  private needsV2(type: string): void {
    if (this.version < 2) {
      throw new ProtocolError(
        'BRL_PROTO_UNKNOWN_FRAME_TYPE',
        `A ${type} frame needs protocol v2; this tunnel speaks v1`,
      );
    }
  }

  /** A new stream from the peer; a v2 CALL brings body bytes (and maybe END) with it. */
  private onOpen(id: number, head: RequestHead, call?: { body: Uint8Array; end: boolean }): void {
    if (this.role !== 'responder') throw notAllowed('open');
    if (id <= this.highestPeerStream) {
      throw new ProtocolError(
        'BRL_PROTO_DUPLICATE_STREAM',
        `Stream id ${id} is not above ${this.highestPeerStream}`,
      );
    }
    this.highestPeerStream = id;
    if (this.draining || this.streams.size >= this.maxConcurrentStreams) {
      const err = this.draining
        ? new ProtocolError('BRL_STREAM_DRAINING')
        : new ProtocolError('BRL_STREAM_BUSY', `The agent has ${this.streams.size} streams open, its limit`);
      this.sendControl({ type: 'reset', stream: id, ...err.toWire() });
      return;
    }
    const stream = this.createStream(id);
    // Before the handler sees the stream, so a whole body is there for it to take.
    if (call) {
      stream.onData(call.body);
      if (call.end) stream.onEnd();
    }
    if (!this.options.onStream) {
      stream.reset(new ProtocolError('BRL_STREAM_INTERNAL', 'This side takes no streams'));
      return;
    }
    this.options.onStream(stream, head);
  }
}
