import { Packr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import { type Frame, FrameType, type HeaderList, Limits } from './frames.js';
import { HEADER_VALUE_PATTERN, HTTP_TOKEN_PATTERN } from './validation.js';

// Plain msgpack: no records, no structured clone, no extension types we would have to trust.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' });

const typeByCode = new Map<number, Frame['type']>(
  Object.entries(FrameType).map(([name, code]) => [code, name as Frame['type']]),
);

/** Encodes a frame. Callers pass frames they built; a malformed one is a programming error. */
export function encodeFrame(frame: Frame): Uint8Array {
  const code = FrameType[frame.type];
  switch (frame.type) {
    case 'open': {
      const fields = [code, frame.stream, frame.method, frame.url, flatten(frame.headers), frame.timeoutMs];
      if (frame.logUrl !== undefined) fields.push(frame.logUrl);
      return packr.pack(fields);
    }
    case 'call':
      return packr.pack([
        code,
        frame.stream,
        frame.method,
        frame.url,
        flatten(frame.headers),
        frame.timeoutMs,
        frame.logUrl ?? null,
        frame.body,
        frame.end,
      ]);
    case 'response':
      return packr.pack([code, frame.stream, frame.status, flatten(frame.headers)]);
    case 'reply':
      return packr.pack([code, frame.stream, frame.status, flatten(frame.headers), frame.body, frame.end]);
    case 'data':
      return packr.pack([code, frame.stream, frame.chunk]);
    case 'end':
    case 'drain':
      return packr.pack([code, frame.stream]);
    case 'credit':
      return packr.pack([code, frame.stream, frame.bytes]);
    case 'reset':
      return packr.pack([code, frame.stream, frame.code, frame.message, frame.retryable]);
    case 'ping':
    case 'pong':
      return packr.pack([code, 0, frame.nonce]);
    case 'welcome':
      return packr.pack([code, 0, frame.sessionId, frame.maxStreams, frame.window, frame.heartbeatMs]);
    case 'streams':
      return packr.pack([code, 0, frame.highest, frame.ids]);
  }
}

/** Room a DATA frame's head takes before its bytes (`encodeDataInto`): the most it can need. */
export const DATA_HEADROOM = 16;

/**
 * A DATA frame around bytes already in place: `buf[DATA_HEADROOM, DATA_HEADROOM + length)` holds
 * the chunk; its msgpack head is written just before it and the frame returned as a view, so the
 * chunk is not copied again. The bytes are exactly those `encodeFrame` gives for the same frame.
 */
export function encodeDataInto(stream: number, buf: Uint8Array, length: number): Uint8Array {
  let at = DATA_HEADROOM;
  // bin 8/16/32 header, written backwards from the chunk.
  if (length < 0x100) {
    buf[--at] = length;
    buf[--at] = 0xc4;
  } else if (length < 0x10000) {
    buf[--at] = length & 0xff;
    buf[--at] = length >>> 8;
    buf[--at] = 0xc5;
  } else {
    at -= 5;
    buf[at] = 0xc6;
    writeUint32(buf, at + 1, length);
  }
  // The stream id as msgpackr writes it: fixint, uint 8/16/32, then float 64 past 2^32.
  if (stream < 0x80) buf[--at] = stream;
  else if (stream < 0x100) {
    buf[--at] = stream;
    buf[--at] = 0xcc;
  } else if (stream < 0x10000) {
    buf[--at] = stream & 0xff;
    buf[--at] = stream >>> 8;
    buf[--at] = 0xcd;
  } else if (stream <= 0xffffffff) {
    at -= 5;
    buf[at] = 0xce;
    writeUint32(buf, at + 1, stream);
  } else {
    at -= 9;
    buf[at] = 0xcb;
    new DataView(buf.buffer, buf.byteOffset + at + 1, 8).setFloat64(0, stream);
  }
  buf[--at] = FrameType.data;
  buf[--at] = 0x93; // fixarray of 3
  return buf.subarray(at, DATA_HEADROOM + length);
}

function writeUint32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

/**
 * Decodes one WebSocket message into a frame. Any byte string either decodes into a well-formed
 * frame or raises a ProtocolError — never another exception (the fuzz tests hold it to that).
 */
/** Fields 2-5 of `open` and `call`: method, url, headers, timeoutMs (at most a week). */
function requestHeadAt2(f: FieldReader) {
  return {
    method: f.token(2, 'method', 32),
    url: f.text(3, 'url', Limits.maxUrlLength),
    headers: f.headers(4),
    timeoutMs: f.uint(5, 'timeoutMs', 7 * 24 * 3600 * 1000),
  };
}

export function decodeFrame(bytes: Uint8Array, maxChunkBytes: number = Limits.maxChunkBytes): Frame {
  if (!(bytes instanceof Uint8Array)) throw malformed('a frame must be a binary message');
  if (bytes.byteLength > Limits.maxMessageBytes) {
    throw new ProtocolError(
      'BRL_PROTO_FRAME_TOO_LARGE',
      `Frame of ${bytes.byteLength} bytes exceeds the limit of ${Limits.maxMessageBytes}`,
    );
  }
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (err) {
    throw malformed(`not valid msgpack (${err instanceof Error ? err.message : String(err)})`, err);
  }
  if (!Array.isArray(raw) || raw.length < 2) throw malformed('a frame must be an array [type, stream, ...]');
  const code = raw[0];
  const type = typeof code === 'number' ? typeByCode.get(code) : undefined;
  if (type === undefined)
    throw new ProtocolError('BRL_PROTO_UNKNOWN_FRAME_TYPE', `Unknown frame type ${safe(code)}`);
  const f = new FieldReader(type, raw, maxChunkBytes);
  const id = f.streamId(
    1,
    type === 'ping' || type === 'pong' || type === 'drain' || type === 'welcome' || type === 'streams',
  );
  switch (type) {
    case 'open': {
      // 6 fields, or 7 with the optional loggable path.
      f.arity(raw.length === 7 ? 7 : 6);
      const open: Frame = {
        type,
        stream: id,
        ...requestHeadAt2(f),
      };
      if (raw.length === 7) open.logUrl = f.text(6, 'logUrl', Limits.maxUrlLength);
      return open;
    }
    case 'call': {
      f.arity(9);
      const call: Frame = {
        type,
        stream: id,
        ...requestHeadAt2(f),
        body: f.chunk(7),
        end: f.bool(8, 'end'),
      };
      if (raw[6] !== null) call.logUrl = f.text(6, 'logUrl', Limits.maxUrlLength);
      return call;
    }
    case 'response':
      f.arity(4);
      return { type, stream: id, status: f.status(2), headers: f.headers(3) };
    case 'reply':
      f.arity(6);
      return {
        type,
        stream: id,
        status: f.status(2),
        headers: f.headers(3),
        body: f.chunk(4),
        end: f.bool(5, 'end'),
      };
    case 'data':
      f.arity(3);
      return { type, stream: id, chunk: f.chunk(2) };
    case 'end':
      f.arity(2);
      return { type, stream: id };
    case 'credit':
      f.arity(3);
      return { type, stream: id, bytes: f.positiveInt(2, 'bytes', Limits.maxWindowBytes) };
    case 'reset':
      f.arity(5);
      return {
        type,
        stream: id,
        code: f.token(2, 'code', 64),
        message: f.text(3, 'message', Limits.maxMessageTextLength),
        retryable: f.bool(4, 'retryable'),
      };
    case 'ping':
    case 'pong':
      f.arity(3);
      return { type, stream: 0, nonce: f.uint(2, 'nonce', Number.MAX_SAFE_INTEGER) };
    case 'drain':
      f.arity(2);
      return { type, stream: 0 };
    case 'welcome':
      f.arity(6);
      return {
        type,
        stream: 0,
        sessionId: f.text(2, 'sessionId', 128),
        maxStreams: f.positiveInt(3, 'maxStreams', 1_000_000),
        window: f.positiveInt(4, 'window', Limits.maxWindowBytes),
        heartbeatMs: f.positiveInt(5, 'heartbeatMs', 3_600_000),
      };
    case 'streams':
      f.arity(4);
      return { type, stream: 0, highest: f.uint(2, 'highest', Limits.maxStreamId), ids: f.streamIds(3) };
  }
}

function flatten(headers: HeaderList): string[] {
  const out: string[] = [];
  for (const [k, v] of headers) out.push(k, v);
  return out;
}

function malformed(detail: string, cause?: unknown): ProtocolError {
  return new ProtocolError('BRL_PROTO_MALFORMED_FRAME', `Malformed frame: ${detail}`, { cause });
}

function safe(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

// A method name or an error code is an RFC 9110 token; header values never carry CR, LF or NUL.
const TOKEN = HTTP_TOKEN_PATTERN;
const HEADER_VALUE = HEADER_VALUE_PATTERN;

class FieldReader {
  constructor(
    private readonly type: string,
    private readonly raw: unknown[],
    private readonly maxChunkBytes: number,
  ) {}

  arity(n: number): void {
    if (this.raw.length !== n)
      throw malformed(`${this.type} frame must have ${n} fields, got ${this.raw.length}`);
  }

  streamId(i: number, connectionLevel: boolean): number {
    const v = this.raw[i];
    if (connectionLevel) {
      if (v !== 0) throw malformed(`${this.type} frame must use stream 0`);
      return 0;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw malformed(`${this.type} frame needs a positive integer stream id, got ${safe(v)}`);
    }
    return v;
  }

  uint(i: number, name: string, max: number): number {
    const v = this.raw[i];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
      throw malformed(`${this.type}.${name} must be an integer 0..${max}, got ${safe(v)}`);
    }
    return v;
  }

  positiveInt(i: number, name: string, max: number): number {
    const v = this.uint(i, name, max);
    if (v === 0) throw malformed(`${this.type}.${name} must be positive`);
    return v;
  }

  status(i: number): number {
    const v = this.raw[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 100 || v > 999) {
      throw malformed(`response.status must be an integer 100..999, got ${safe(v)}`);
    }
    return v;
  }

  /** Body bytes: binary, at most one chunk. */
  chunk(i: number): Uint8Array {
    const v = this.raw[i];
    if (!(v instanceof Uint8Array)) throw malformed(`${this.type} frame body must be binary`);
    // A DATA chunk may be larger from protocol v3 on; a CALL's or REPLY's body stays inline-sized.
    const max = this.type === 'data' ? this.maxChunkBytes : Limits.maxChunkBytes;
    if (v.byteLength > max) {
      throw new ProtocolError(
        'BRL_PROTO_FRAME_TOO_LARGE',
        `${this.type} body of ${v.byteLength} bytes exceeds ${max}`,
      );
    }
    return v;
  }

  bool(i: number, name: string): boolean {
    const v = this.raw[i];
    if (typeof v !== 'boolean') throw malformed(`${this.type}.${name} must be a boolean`);
    return v;
  }

  text(i: number, name: string, max: number): string {
    const v = this.raw[i];
    if (typeof v !== 'string') throw malformed(`${this.type}.${name} must be a string`);
    if (v.length > max) throw malformed(`${this.type}.${name} is longer than ${max} characters`);
    return v;
  }

  token(i: number, name: string, max: number): string {
    const v = this.text(i, name, max);
    if (!TOKEN.test(v)) throw malformed(`${this.type}.${name} ${safe(v)} is not a valid token`);
    return v;
  }

  streamIds(i: number): number[] {
    const v = this.raw[i];
    if (!Array.isArray(v) || v.length > Limits.maxReconcileIds) {
      throw malformed(`${this.type}.ids must be a list of at most ${Limits.maxReconcileIds} stream ids`);
    }
    for (const id of v) {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1)
        throw malformed(`${this.type}.ids holds ${safe(id)}`);
    }
    return v as number[];
  }

  headers(i: number): HeaderList {
    const v = this.raw[i];
    if (!Array.isArray(v) || v.length % 2 !== 0)
      throw malformed(`${this.type}.headers must be a flat [name, value, ...] list`);
    if (v.length / 2 > Limits.maxHeaderCount)
      throw malformed(`${this.type} has more than ${Limits.maxHeaderCount} headers`);
    const out: HeaderList = [];
    let bytes = 0;
    for (let j = 0; j < v.length; j += 2) {
      const name = v[j];
      const value = v[j + 1];
      if (typeof name !== 'string' || !TOKEN.test(name))
        throw malformed(`header name ${safe(name)} is not a valid token`);
      if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
        throw malformed(`header ${name} has a value with forbidden characters (CR, LF, NUL or non-Latin-1)`);
      }
      bytes += name.length + value.length;
      if (bytes > Limits.maxHeaderBytes) throw malformed(`headers exceed ${Limits.maxHeaderBytes} bytes`);
      out.push([name, value]);
    }
    return out;
  }
}
