import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * One call to a destination through undici's `dispatch`, with a handler of its own in place of
 * `request()`: a small answer (a declared length within the tunnel's inline limit) is gathered
 * into one buffer, with no Readable, no stream plumbing and no abort listener left per call; a
 * larger or unknown-length answer streams through a Readable as `request()` would give it. In
 * `--cpu-prof` of the agent, `request()`'s handler, its Readable and reading it by events were
 * the largest part of the agent's own JavaScript per small call.
 *
 * The same undici core does the call, so its errors (connect failures, timeouts, the
 * destination's errors, invalid arguments) reach the caller as `request()` would reject with them.
 */
export interface CallAnswer {
  status: number;
  /** As `request()` gives them: undici's parsed headers, names in lower case. */
  headers: IncomingHttpHeaders;
  /** Small answers: the whole body. */
  whole?: Buffer;
  /** Other answers: the body, read as it comes (undici pauses while it is not read). */
  body?: Readable;
}

/**
 * `smallLength(status, headers)`: the answer's declared length when it is to be gathered whole,
 * undefined to stream it.
 */
export type SmallLength = (status: number, headers: IncomingHttpHeaders) => number | undefined;

/**
 * What ends a call early: `watch(abort)` arranges for `abort(reason)` to be called (the tunnel
 * stream failed, the call's own timeout) and returns how to stop watching, which the call does
 * once undici is done with it. No AbortController per call.
 */
export type Watch = (abort: (reason: Error) => void) => () => void;

export function call(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  watch: Watch,
  smallLength: SmallLength,
): Promise<CallAnswer> {
  return new Promise((resolve, reject) => {
    // As request(): CONNECT is refused with undici's invalid-argument error.
    if (options.method === 'CONNECT') {
      reject(Object.assign(new Error('invalid method'), { code: 'UND_ERR_INVALID_ARG' }));
      return;
    }
    dispatcher.dispatch(options, new CallHandler(options.body, watch, smallLength, resolve, reject));
  });
}

class CallHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  /** Set once the promise is settled with a streamed body, or rejected. */
  private settled = false;
  private over = false;
  private expected = -1;
  private chunks: Buffer[] = [];
  private size = 0;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private body: AnswerBody | undefined;
  /** Why the call was aborted before undici started it, if it was. */
  private abortedWith: Error | undefined;
  private readonly unwatch: () => void;

  constructor(
    private readonly requestBody: Dispatcher.DispatchOptions['body'],
    watch: Watch,
    private readonly smallLength: SmallLength,
    private readonly resolve: (answer: CallAnswer) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    // Aborted before undici starts the call (a queued call), it is aborted when it would start;
    // after, undici's own error reaches the promise or the body's reader, as with request().
    this.unwatch = watch((reason) => {
      if (this.over) return;
      this.abortedWith ??= reason;
      this.controller?.abort(reason);
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortedWith) controller.abort(this.abortedWith);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    // 1xx informational answers are not the answer (request() skips them too).
    if (status < 200) return;
    this.status = status;
    this.headers = headers;
    const small = this.smallLength(status, headers);
    if (small !== undefined) {
      this.expected = small;
      return;
    }
    this.body = new AnswerBody(controller);
    this.settled = true;
    this.resolve({ status, headers, body: this.body });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.body) {
      if (!this.body.push(chunk)) controller.pause();
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
    if (this.size > this.expected) {
      controller.abort(new Error(`the body is longer than its content-length (${this.expected})`));
    }
  }

  onResponseEnd(): void {
    this.finish();
    if (this.body) {
      this.body.push(null);
      return;
    }
    if (this.settled) return;
    this.settled = true;
    const chunks = this.chunks;
    this.resolve({
      status: this.status,
      headers: this.headers,
      whole: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size),
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.finish();
    // A request body that is a stream is destroyed with the call, as request() does.
    if (this.requestBody instanceof Readable) {
      this.requestBody.on('error', () => {});
      this.requestBody.destroy(err);
    }
    const body = this.body;
    if (body) {
      // After the handlers undici has queued, as request() does.
      queueMicrotask(() => body.destroy(err));
      return;
    }
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    if (this.body) this.body.callOver = true;
    this.unwatch();
  }
}

/** A streamed answer: undici is paused while the reader is behind, and aborted if it gives up. */
class AnswerBody extends Readable {
  /** undici is done with the call (ended or failed): nothing left to abort. */
  callOver = false;

  constructor(private readonly controller: Dispatcher.DispatchController) {
    // undici's own default for request() bodies.
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    this.controller.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.callOver && !this.controller.aborted) {
      this.controller.abort(err ?? new Error('The body was not read to its end'));
    }
    callback(err);
  }
}
