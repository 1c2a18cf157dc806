import { Readable } from 'node:stream';
import { DATA_HEADROOM, encodeDataInto } from './codec.js';
import { ProtocolError } from './errors.js';
import { type HeaderList, Limits, type ResponseHead } from './frames.js';
import { type BodySource, FailureListeners, NO_HEAD, noop, type StreamHost } from './stream-host.js';

export type { BodySource, StreamHost } from './stream-host.js';

/**
 * One request/response exchange inside a tunnel, with credit-based flow control in both
 * directions: this side sends at most `sendWindow` bytes before the peer credits more, and the
 * peer may send at most the window before this side's reader has consumed (and credited) them.
 * A paused reader therefore stalls only its own stream, and buffers at most one window.
 */
export class TunnelStream {
  /**
   * Requester: the response head. Rejects if the stream fails first. (A responder's never
   * settles: it sends the head.)
   */
  readonly responseHead: Promise<ResponseHead>;

  /**
   * What the body's reader sees when the stream fails: the ProtocolError as it is, or what the
   * owner maps it to (the relay gives callers its own error codes, with the agent named).
   */
  mapError: ((err: ProtocolError) => Error) | undefined;

  /** Made when `signal` is first asked for: most small calls on the requester side never do. */
  private abortController: AbortController | undefined;
  /** See `whenFailed`. */
  private readonly failureListeners = new FailureListeners();
  /** Made when `body` is first asked for: a small call whose body is taken whole never is. */
  private readable: Readable | undefined;
  /** Runs once when the stream is over, normally or not (see `whenOver`). */
  private onOver: (() => void) | undefined;
  private sendWindow: number;
  private recvRemaining: number;
  /** Bytes handed to the Readable, and of those, how many had been read when we last credited. */
  private pushedTotal = 0;
  private creditedTaken = 0;
  private readonly queue: Uint8Array[] = [];
  private queueBytes = 0;
  private readerWaiting = false;
  private endPushed = false;
  private localEnded = false;
  private remoteEnded = false;
  private responded = false;
  private failure: ProtocolError | undefined;
  private creditWaiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /**
   * Body bytes written and not yet sent: a DATA frame being filled (chunk at DATA_HEADROOM), sent
   * when full, before this side waits or ends, and otherwise once the event loop has run its I/O
   * callbacks — so chunks that arrive together (a socket's reads in one poll) go as one frame.
   */
  private pending: Buffer | undefined;
  private pendingBytes = 0;
  private flushScheduled = false;
  private resolveHead: (h: ResponseHead) => void = noop;
  private rejectHead: (e: Error) => void = noop;

  constructor(
    private readonly host: StreamHost,
    readonly id: number,
    private readonly window: number,
  ) {
    this.sendWindow = window;
    this.recvRemaining = window;
    if (host.role === 'requester') {
      this.responseHead = new Promise<ResponseHead>((resolve, reject) => {
        this.resolveHead = resolve;
        this.rejectHead = reject;
      });
      // Nobody may be listening yet; avoid unhandled rejections.
      this.responseHead.catch(() => {});
    } else this.responseHead = NO_HEAD;
  }

  /** Bytes from the peer: the request body (responder) or the response body (requester). */
  get body(): Readable {
    this.readable ??= this.makeBody();
    return this.readable;
  }

  private makeBody(): Readable {
    const body = new Readable({
      // Small next to the window, so credit computed at the last pull lags the reader by little.
      highWaterMark: Math.min(16 * 1024, Math.floor(this.window / 4)),
      read: () => {
        this.flushToReader();
        // Node calls _read before it takes the bytes being read out of the buffer; look again
        // once this read() has returned, or the credit for those bytes could wait forever.
        queueMicrotask(() => this.maybeCredit());
      },
      destroy: (err, cb) => {
        // autoDestroy after a complete body is normal; anything else means the reader gave up.
        if (!this.isFinished() && !body.readableEnded) {
          this.reset(new ProtocolError('BRL_STREAM_CANCELLED', 'The reader stopped reading the body'));
        }
        cb(err);
      },
    });
    // The error is kept on the stream (`body.errored`, and rethrown to any reader); an unread
    // body must not turn a peer's reset into an uncaught exception.
    body.on('error', () => {});
    // Asked for late: as it would be had it been there all along.
    if (this.failure && !this.remoteEnded) body.destroy(this.mapError?.(this.failure) ?? this.failure);
    else if (this.endPushed) {
      body.push(null);
      body.resume();
    }
    return body;
  }

  /** Aborted when the stream ends abnormally (reset by either side, or the tunnel closed). */
  get signal(): AbortSignal {
    if (!this.abortController) {
      this.abortController = new AbortController();
      if (this.failure) this.abortController.abort(this.failure);
    }
    return this.abortController.signal;
  }

  /** Why the stream failed (reset by either side, or the tunnel closed); undefined if it has not. */
  get failedWith(): ProtocolError | undefined {
    return this.failure;
  }

  /**
   * `fn` runs once if the stream fails, at once if it has: `signal` without an AbortController
   * and its event. Returns the listener's removal.
   */
  whenFailed(fn: (err: ProtocolError) => void): () => void {
    return this.failureListeners.add(fn, this.failure);
  }

  /**
   * `fn` runs once, when the stream is over on this side (both directions ended, or it failed):
   * where a caller's listeners come off. At most one; it runs at once if the stream is over.
   */
  whenOver(fn: () => void): void {
    if (this.isFinished()) fn();
    else this.onOver = fn;
  }

  /** Bytes received and held for the reader: the figure flow control bounds. */
  bufferedBytes(): number {
    return this.queueBytes + (this.readable?.readableLength ?? 0);
  }

  get ended(): boolean {
    return this.failure !== undefined || (this.localEnded && this.remoteEnded);
  }

  /** Responder: sends the response head. */
  respond(status: number, headers: HeaderList): void {
    if (this.responded || this.isFinished()) return;
    this.responded = true;
    this.host.send({ type: 'response', stream: this.id, status, headers });
  }

  /** The most body bytes `respondWhole` sends in the head's own frame (0 on a v1 tunnel). */
  get inlineLimit(): number {
    return this.host.inlineLimit;
  }

  /**
   * Responder: the whole answer at once. On a v2 tunnel a body within `inlineLimit` travels with
   * the head and the end in one REPLY frame; otherwise as `respond`, `write` and `end`.
   */
  async respondWhole(status: number, headers: HeaderList, body: Uint8Array): Promise<void> {
    if (this.responded || this.isFinished()) return;
    if (body.byteLength <= this.host.inlineLimit && body.byteLength <= this.sendWindow) {
      this.responded = true;
      this.localEnded = true;
      this.sendWindow -= body.byteLength;
      this.host.send({ type: 'reply', stream: this.id, status, headers, body, end: true });
      this.maybeFinished();
      return;
    }
    this.respond(status, headers);
    await this.write(body);
    this.end();
  }

  /**
   * The peer's whole body, when it has all arrived and none of it was read (a v2 CALL brings a
   * small request whole): taken out, after which `body` reads as empty. Undefined otherwise.
   */
  takeWholeBody(): Uint8Array | undefined {
    if (!this.remoteEnded || this.pushedTotal > 0 || this.endPushed || this.failure) return undefined;
    const whole = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.queueBytes);
    this.queue.length = 0;
    this.queueBytes = 0;
    this.endPushed = true;
    if (this.readable) {
      this.readable.push(null);
      this.readable.resume();
    }
    return whole;
  }

  /**
   * Sends body bytes, waiting for credit and for room on the socket. The bytes are copied before
   * this returns (the caller may reuse its buffer); they go out in DATA frames of up to the
   * connection's `maxDataChunk`, consecutive writes filling one frame (see `pending`).
   */
  async write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < bytes.byteLength) {
      if (this.failure) throw this.failure;
      if (this.localEnded) throw new Error('write after end');
      if (this.sendWindow <= 0) {
        this.flush();
        await new Promise<void>((resolve, reject) => {
          this.creditWaiter = { resolve, reject };
        });
        continue;
      }
      const ready = this.host.socketReady();
      if (ready) {
        this.flush();
        await ready;
        continue;
      }
      const left = bytes.byteLength - offset;
      if (this.pending === undefined) {
        // Room for what the window allows, up to a frame; a small write gets a small frame.
        const room = Math.min(this.host.maxDataChunk, this.sendWindow, Math.max(left * 4, 16 * 1024));
        this.pending = Buffer.allocUnsafe(DATA_HEADROOM + room);
      }
      const room = this.pending.byteLength - DATA_HEADROOM - this.pendingBytes;
      const n = Math.min(left, room, this.sendWindow);
      this.pending.set(bytes.subarray(offset, offset + n), DATA_HEADROOM + this.pendingBytes);
      this.pendingBytes += n;
      this.sendWindow -= n;
      offset += n;
      if (n === room) this.flush();
    }
    if (this.pending !== undefined && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.scheduledFlush);
    }
  }

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    if (!this.failure) this.flush();
  };

  /** Sends the DATA frame being filled, if any. */
  private flush(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    const n = this.pendingBytes;
    this.pendingBytes = 0;
    if (n > 0) this.host.sendEncoded(encodeDataInto(this.id, pending, n));
  }

  /** Ends this side's body. */
  end(): void {
    if (this.localEnded || this.failure) return;
    this.flush();
    this.localEnded = true;
    this.host.send({ type: 'end', stream: this.id });
    this.maybeFinished();
  }

  /** Writes all of `source`, then ends. A failing source resets the stream. */
  async pipeFrom(source: BodySource): Promise<void> {
    try {
      if (source !== null) {
        if (typeof source === 'string' || source instanceof Uint8Array) await this.write(source);
        else for await (const chunk of source) await this.write(chunk);
      }
      this.end();
    } catch (err) {
      if (!this.failure) {
        this.reset(
          new ProtocolError(
            'BRL_STREAM_UPSTREAM_ERROR',
            `Reading the body failed: ${(err as Error).message}`,
          ),
        );
      }
      throw err;
    }
  }

  /** Ends the stream abnormally and tells the peer. */
  reset(err: ProtocolError): void {
    if (this.failure || (this.localEnded && this.remoteEnded)) return;
    this.host.send({ type: 'reset', stream: this.id, ...err.toWire() });
    this.terminate(err);
  }

  // ---- called by the host ---------------------------------------------------------------------

  /** @internal The stream is over without telling the peer (peer reset, tunnel closed). */
  terminate(err: ProtocolError): void {
    if (this.failure) return;
    this.failure = err;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.creditWaiter?.reject(err);
    this.creditWaiter = undefined;
    this.rejectHead(err);
    // A body that already arrived whole stays readable (a reset after END only stops our own
    // direction, e.g. the agent telling us to stop sending a request body it no longer needs);
    // otherwise the reader sees the error.
    if (!this.remoteEnded) {
      if (this.readable && !this.readable.destroyed) this.readable.destroy(this.mapError?.(err) ?? err);
      this.queue.length = 0;
      this.queueBytes = 0;
    }
    if (this.abortController && !this.abortController.signal.aborted) this.abortController.abort(err);
    this.failureListeners.run(err);
    this.host.finished(this.id);
    this.over();
  }

  /** @internal The whole body went with the CALL frame that opened the stream. */
  sentWhole(bytes: number): void {
    this.sendWindow -= bytes;
    this.localEnded = true;
  }

  /** @internal */
  onResponse(head: ResponseHead): void {
    if (this.responded)
      throw new ProtocolError('BRL_PROTO_MALFORMED_FRAME', `Second response on stream ${this.id}`);
    this.responded = true;
    this.resolveHead(head);
  }

  /** @internal */
  onData(chunk: Uint8Array): void {
    if (this.remoteEnded)
      throw new ProtocolError('BRL_PROTO_MALFORMED_FRAME', `Data after end on stream ${this.id}`);
    if (this.host.role === 'requester' && !this.responded) {
      throw new ProtocolError(
        'BRL_PROTO_MALFORMED_FRAME',
        `Data before the response head on stream ${this.id}`,
      );
    }
    if (chunk.byteLength > this.recvRemaining) {
      throw new ProtocolError(
        'BRL_PROTO_FLOW_CONTROL',
        `Stream ${this.id}: ${chunk.byteLength} bytes sent with only ${this.recvRemaining} of window left`,
      );
    }
    this.recvRemaining -= chunk.byteLength;
    if (chunk.byteLength === 0) return;
    this.queue.push(chunk);
    this.queueBytes += chunk.byteLength;
    if (this.readerWaiting) this.flushToReader();
  }

  /** @internal */
  onEnd(): void {
    if (this.remoteEnded)
      throw new ProtocolError('BRL_PROTO_MALFORMED_FRAME', `Second end on stream ${this.id}`);
    if (this.host.role === 'requester' && !this.responded) {
      throw new ProtocolError(
        'BRL_PROTO_MALFORMED_FRAME',
        `End before the response head on stream ${this.id}`,
      );
    }
    this.remoteEnded = true;
    if (this.readerWaiting) this.flushToReader();
    this.maybeFinished();
  }

  /** @internal */
  onCredit(bytes: number): void {
    this.sendWindow += bytes;
    if (this.sendWindow > Limits.maxWindowBytes) {
      throw new ProtocolError(
        'BRL_PROTO_FLOW_CONTROL',
        `Stream ${this.id}: credit beyond the largest window`,
      );
    }
    const waiter = this.creditWaiter;
    this.creditWaiter = undefined;
    waiter?.resolve();
  }

  /** @internal */
  onReset(err: ProtocolError): void {
    this.terminate(err);
  }

  // ---- internals -----------------------------------------------------------------------------

  private isFinished(): boolean {
    return this.failure !== undefined || (this.localEnded && this.remoteEnded);
  }

  private maybeFinished(): void {
    if (this.localEnded && this.remoteEnded) {
      this.creditWaiter = undefined;
      this.host.finished(this.id);
      this.over();
    }
  }

  private over(): void {
    const fn = this.onOver;
    this.onOver = undefined;
    fn?.();
  }

  /** Moves queued bytes into the Readable while it wants more, crediting what the reader took. */
  private flushToReader(): void {
    this.readerWaiting = false;
    while (this.queue.length > 0) {
      const chunk = this.queue.shift()!;
      this.queueBytes -= chunk.byteLength;
      this.pushedTotal += chunk.byteLength;
      if (!this.body.push(chunk)) {
        this.maybeCredit();
        return;
      }
    }
    this.readerWaiting = true;
    if (this.remoteEnded && !this.endPushed) {
      this.endPushed = true;
      this.body.push(null);
    }
    this.maybeCredit();
  }

  /**
   * Credits the peer for bytes the reader has taken out of the Readable — not for bytes merely
   * moved into it — so what this side holds for a stream (queue + Readable) never exceeds the
   * window, however the reader behaves.
   */
  private maybeCredit(): void {
    if (this.remoteEnded || this.failure) return;
    const taken = this.pushedTotal - this.body.readableLength;
    const bytes = taken - this.creditedTaken;
    // Credit in batches: a quarter window keeps the pipe full without a frame per chunk.
    if (bytes >= this.window / 4) {
      this.creditedTaken = taken;
      this.recvRemaining += bytes;
      this.host.send({ type: 'credit', stream: this.id, bytes });
    }
  }
}
