import type { HeaderList } from './frames.js';
import { Limits } from './frames.js';
import type { BodySource } from './tunnel-stream.js';

/**
 * Protocol v2 sends a small request whole: OPEN, head, body and END in one CALL frame. Which
 * bodies count as small, and gathering them: a body already in memory, or a stream that declares
 * a small `content-length` (an HTTP request body of that size is on hand, or nearly). A stream of
 * unknown length is never waited for: it may be long, or come only after the answer begins.
 */

/** The most a CALL or REPLY frame carries, for a stream whose window is `window`. */
export function inlineLimit(window: number): number {
  return Math.min(Limits.maxChunkBytes, window);
}

const EMPTY = new Uint8Array(0);

export type GatheredBody = { whole: Uint8Array } | { rest: BodySource };

/** The answer of `gatherBody` when it needs no waiting (the body is in memory); else undefined. */
export function gatherNow(
  body: BodySource | undefined,
  headers: HeaderList,
  limit: number,
): GatheredBody | undefined {
  if (body === null || body === undefined) return { whole: EMPTY };
  if (typeof body === 'string') {
    const bytes = Buffer.from(body);
    return bytes.byteLength <= limit ? { whole: bytes } : { rest: bytes };
  }
  if (body instanceof Uint8Array) return body.byteLength <= limit ? { whole: body } : { rest: body };
  const declared = contentLength(headers);
  if (declared === undefined || declared > limit) return { rest: body };
  return undefined;
}

/**
 * `{ whole }` when the body fits in `limit` bytes; otherwise `{ rest }`, the body to stream as
 * before (what was read already comes first). Stops waiting when `signal` aborts.
 */
export function gatherBody(
  body: BodySource | undefined,
  headers: HeaderList,
  limit: number,
  signal?: AbortSignal,
): Promise<GatheredBody> {
  const now = gatherNow(body, headers, limit);
  if (now) return Promise.resolve(now);
  if (signal?.aborted) return Promise.resolve({ rest: body ?? null });
  if (isReadable(body)) return gatherReadable(body, limit, signal);
  return gatherIterable(body as AsyncIterable<Uint8Array | string>, limit, signal);
}

async function gatherIterable(
  body: AsyncIterable<Uint8Array | string>,
  limit: number,
  signal?: AbortSignal,
): Promise<GatheredBody> {
  const it = body[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r === 'aborted') return { rest: resume(chunks, it) };
      if (r.done) break;
      const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size > limit) return { rest: resume(chunks, it) };
    }
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
  return { whole: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) };
}

/** The part of a Node.js Readable (an incoming HTTP request, say) `gatherReadable` uses. */
interface ReadableLike extends AsyncIterable<Uint8Array | string> {
  read(): Uint8Array | string | null;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly readableEnded: boolean;
  readonly destroyed: boolean;
}

function isReadable(body: unknown): body is ReadableLike {
  const r = body as Partial<ReadableLike> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.read === 'function' &&
    typeof r.on === 'function' &&
    typeof r.off === 'function' &&
    typeof r.readableEnded === 'boolean'
  );
}

/**
 * `gatherBody` for a Node.js Readable, read by its `readable` events rather than through its
 * async iterator: the iterator's promise per chunk and its set-up cost about as much as the
 * frames a CALL saves (in `--cpu-prof` of the bench's control plane). The stream stays paused,
 * so a body that turns out too long (or a caller that aborts) streams on from where it stopped.
 */
function gatherReadable(r: ReadableLike, limit: number, signal?: AbortSignal): Promise<GatheredBody> {
  if (r.readableEnded) return Promise.resolve({ whole: EMPTY });
  if (r.destroyed) return Promise.resolve({ rest: r });
  return new Promise<GatheredBody>((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let settled = false;
    // The error listener stays (doing nothing once settled): a body handed on to stream is read
    // through its iterator, which listens only once the first chunk is asked for.
    const cleanup = () => {
      settled = true;
      r.off('readable', onReadable);
      r.off('end', onEnd);
      r.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const streamOn = () => {
      cleanup();
      resolve({ rest: resume(chunks, r[Symbol.asyncIterator]()) });
    };
    function onReadable() {
      for (let c = r.read(); c !== null; c = r.read()) {
        const chunk = typeof c === 'string' ? Buffer.from(c) : c;
        chunks.push(chunk);
        size += chunk.byteLength;
        if (size > limit) {
          streamOn();
          return;
        }
      }
    }
    function onEnd() {
      cleanup();
      resolve({ whole: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    }
    function onError(err: unknown) {
      if (settled) return;
      cleanup();
      reject(err);
    }
    // Destroyed without an error (and without its end): the stream's own iterator says how.
    function onClose() {
      streamOn();
    }
    function onAbort() {
      streamOn();
    }
    r.on('readable', onReadable);
    r.on('end', onEnd);
    r.on('error', onError);
    r.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function* resume(
  read: Uint8Array[],
  it: AsyncIterator<Uint8Array | string>,
): AsyncGenerator<Uint8Array | string> {
  yield* read;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}

function contentLength(headers: HeaderList): number | undefined {
  for (const [name, value] of headers) {
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      const n = Number(value);
      return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    }
  }
  return undefined;
}
