import { randomUUID } from 'node:crypto';
import { decodeFrame, encodeFrame } from './codec.js';
import { CloseCodes, ProtocolError } from './errors.js';
import {
  DEFAULT_WINDOW_BYTES,
  type Frame,
  Limits,
  type RequestHead,
  type ResponseHead,
  type WelcomeFrame,
} from './frames.js';
import { HeartbeatDefaults, heartbeatTimeoutMs } from './heartbeat.js';
import { type BodySource, type StreamHost, TunnelStream } from './tunnel-stream.js';

export type TunnelRole = 'requester' | 'responder';

export interface FrameSink {
  /** Sends one binary message; `done` runs once it has been written out (or failed). */
  send(bytes: Uint8Array, done: (err?: Error) => void): void;
  /** Closes the underlying connection. The owner then calls `tunnel.transportClosed()`. */
  close(code: number, reason: string): void;
}

export interface TunnelResponse extends ResponseHead {
  body: TunnelStream['body'];
  stream: TunnelStream;
}

export interface TunnelOptions {
  role: TunnelRole;
  sink: FrameSink;
  /** Bytes a peer may send on one stream before the reader credits them (both directions). */
  window?: number;
  /** Concurrent streams: the most this side opens (requester) or accepts (responder). */
  maxConcurrentStreams?: number;
  heartbeatIntervalMs?: number;
  /** No frame from the peer for this long: the connection is dead. */
  heartbeatTimeoutMs?: number;
  /** How often each side lists its open streams so the peer can reap leaked ones (ms; 0 = never). */
  reconcileIntervalMs?: number;
  /** Bytes handed to the sink and not yet written out, past which stream writers wait. */
  maxOutstandingBytes?: number;
  /** Responder: a new stream. Reading `stream.body` gives the request body. */
  onStream?: (stream: TunnelStream, head: RequestHead) => void;
  /** Requester: the peer announced that it is draining. */
  onPeerDraining?: () => void;
  /** Responder: the requester's WELCOME. */
  onWelcome?: (welcome: WelcomeFrame) => void;
  onHeartbeat?: (rttMs: number) => void;
  /** Runs once, when the connection is gone (closed by either side or failed). */
  onClose?: (info: TunnelCloseInfo) => void;
  /** Requester: the session id announced in WELCOME. */
  sessionId?: string;
}

export interface TunnelCloseInfo {
  code: number;
  reason: string;
  /** Set when this side ended the connection because of the peer's protocol violation or silence. */
  error?: ProtocolError;
}

export interface TunnelStats {
  streams: number;
  bufferedBytes: number;
  outstandingBytes: number;
  lastFrameAt: number;
  lastHeartbeatAt: number | null;
  rttMs: number | null;
}

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
  private lastFrameAt = Date.now();
  private lastHeartbeatAt: number | null = null;
  /** When the heartbeat timer last ran: a tick far later than its interval means this side stalled. */
  private lastTickAt = Date.now();
  private rttMs: number | null = null;
  private readonly pings = new Map<number, number>();
  private pingNonce = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  /** Streams reaped by reconciliation: each one is a leak that was caught. */
  reapedStreams = 0;
  private closeInfo: TunnelCloseInfo | undefined;
  /** What this tunnel's streams may ask of it; kept off the public face. */
  private readonly host: StreamHost;

  constructor(private readonly options: TunnelOptions) {
    this.role = options.role;
    this.sink = options.sink;
    this.window = options.window ?? DEFAULT_WINDOW_BYTES;
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? 256;
    this.maxOutstanding = options.maxOutstandingBytes ?? 1024 * 1024;
    this.sessionId = options.sessionId ?? randomUUID();
    this.host = {
      role: this.role,
      send: (frame) => this.sendControl(frame),
      socketReady: () => this.socketReady(),
      finished: (id) => this.streams.delete(id),
    };
    const interval = options.heartbeatIntervalMs ?? HeartbeatDefaults.intervalMs;
    const timeout = options.heartbeatTimeoutMs ?? heartbeatTimeoutMs(interval);
    this.heartbeatTimer = setInterval(() => this.heartbeat(timeout, interval), interval);
    this.heartbeatTimer.unref();
    const reconcile = options.reconcileIntervalMs ?? 30_000;
    if (reconcile > 0) {
      this.reconcileTimer = setInterval(() => this.sendStreamList(), reconcile);
      this.reconcileTimer.unref();
    }
  }

  /** Lists this side's open streams to the peer (normally on a timer; public for tests). */
  sendStreamList(): void {
    if (this.closed || this.streams.size > Limits.maxReconcileIds) return;
    const highest = this.role === 'requester' ? this.nextStreamId - 1 : this.highestPeerStream;
    this.sendControl({ type: 'streams', stream: 0, highest, ids: [...this.streams.keys()] });
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
    if (this.closed) {
      return Promise.reject(new ProtocolError('BRL_STREAM_DISCONNECTED', 'The tunnel is closed'));
    }
    if (this.draining) return Promise.reject(new ProtocolError('BRL_STREAM_DRAINING'));
    if (this.streams.size >= this.maxConcurrentStreams) {
      return Promise.reject(
        new ProtocolError('BRL_STREAM_BUSY', `The tunnel has ${this.streams.size} streams open, its limit`),
      );
    }
    const id = this.nextStreamId++;
    const stream = this.createStream(id);
    this.sendControl({ type: 'open', stream: id, ...head });
    const response = stream.responseHead.then((h) => ({ ...h, body: stream.body, stream }));
    if (signal) {
      const onAbort = () =>
        stream.reset(new ProtocolError('BRL_STREAM_CANCELLED', 'The caller cancelled the request'));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        stream.signal.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), {
          once: true,
        });
      }
    }
    stream.pipeFrom(body ?? null).catch(() => {
      // pipeFrom resets the stream itself; the caller sees the reset through the response.
    });
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
      lastFrameAt: this.lastFrameAt,
      lastHeartbeatAt: this.lastHeartbeatAt,
      rttMs: this.rttMs,
    };
  }

  /** Feed one received WebSocket message. Protocol violations close the connection. */
  receive(bytes: Uint8Array): void {
    if (this.closed) return;
    this.lastFrameAt = Date.now();
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
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
    clearInterval(this.heartbeatTimer);
    clearInterval(this.reconcileTimer);
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
    const bytes = encodeFrame(frame);
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

  private heartbeat(timeoutMs: number, intervalMs: number): void {
    if (this.closed) return;
    const now = Date.now();
    // A tick that comes two intervals late means this process's own event loop was blocked: the
    // peer's frames may be sitting unread in the socket (timers run before I/O is polled), so
    // silence measured across the stall says nothing about the peer. Judge on the next tick,
    // after the pending frames were read; a frozen peer is still caught one interval later.
    const stalled = now - this.lastTickAt > intervalMs * 2;
    this.lastTickAt = now;
    if (!stalled && now - this.lastFrameAt > timeoutMs) {
      this.fail(
        new ProtocolError(
          'BRL_PROTO_HEARTBEAT_TIMEOUT',
          `No frame from the peer for more than ${timeoutMs} ms`,
        ),
      );
      return;
    }
    const nonce = ++this.pingNonce;
    this.pings.set(nonce, Date.now());
    if (this.pings.size > 16) this.pings.delete(this.pings.keys().next().value as number);
    this.sendControl({ type: 'ping', stream: 0, nonce });
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
        this.onOpen(frame.stream, {
          method: frame.method,
          url: frame.url,
          headers: frame.headers,
          timeoutMs: frame.timeoutMs,
          ...(frame.logUrl === undefined ? {} : { logUrl: frame.logUrl }),
        });
        return;
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
        const sentAt = this.pings.get(frame.nonce);
        if (sentAt !== undefined) {
          this.pings.delete(frame.nonce);
          this.lastHeartbeatAt = Date.now();
          this.rttMs = this.lastHeartbeatAt - sentAt;
          this.options.onHeartbeat?.(this.rttMs);
        }
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

  private onOpen(id: number, head: RequestHead): void {
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
    if (!this.options.onStream) {
      stream.reset(new ProtocolError('BRL_STREAM_INTERNAL', 'This side takes no streams'));
      return;
    }
    this.options.onStream(stream, head);
  }
}

function notAllowed(type: string): ProtocolError {
  return new ProtocolError('BRL_PROTO_STREAM_NOT_ALLOWED', `A ${type} frame may not be sent by this peer`);
}

/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.byteLength <= 123) return text;
  return `${buf
    .subarray(0, 119)
    .toString('utf8')
    .replace(/\uFFFD+$/, '')}...`;
}
