import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from './codec.js';
import { ProtocolError } from './errors.js';
import { type Frame, Limits } from './frames.js';

const samples: Frame[] = [
  {
    type: 'open',
    stream: 1,
    method: 'POST',
    url: 'http://10.0.0.5/x?y=1',
    headers: [
      ['a', 'b'],
      ['a', 'c'],
    ],
    timeoutMs: 30000,
  },
  { type: 'response', stream: 7, status: 204, headers: [['set-cookie', 'x=1']] },
  { type: 'data', stream: 3, chunk: new Uint8Array([0, 1, 2, 255]) },
  { type: 'end', stream: 3 },
  { type: 'credit', stream: 3, bytes: 65536 },
  { type: 'reset', stream: 9, code: 'BRL_STREAM_CANCELLED', message: 'bye', retryable: false },
  { type: 'ping', stream: 0, nonce: 42 },
  { type: 'pong', stream: 0, nonce: 42 },
  { type: 'drain', stream: 0 },
  { type: 'welcome', stream: 0, sessionId: 's-1', maxStreams: 256, window: 262144, heartbeatMs: 5000 },
  { type: 'streams', stream: 0, highest: 9, ids: [3, 7, 9] },
  // Protocol v2: a whole small call, and a whole small answer, in one frame each.
  {
    type: 'call',
    stream: 5,
    method: 'POST',
    url: 'http://10.0.0.5/x',
    headers: [['content-length', '3']],
    timeoutMs: 0,
    body: Buffer.from('abc'),
    end: true,
  },
  {
    type: 'call',
    stream: 6,
    method: 'GET',
    url: 'http://10.0.0.5/y',
    headers: [],
    timeoutMs: 5,
    logUrl: 'http://10.0.0.5/y',
    body: Buffer.alloc(0),
    end: false,
  },
  { type: 'reply', stream: 5, status: 200, headers: [['a', 'b']], body: Buffer.from('abc'), end: true },
];

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
  return 'decoded';
}

const raw = new Packr({ useRecords: false });

describe('codec', () => {
  it.each(samples.map((f) => [f.type, f] as const))('round-trips a %s frame', (_t, frame) => {
    const decoded = decodeFrame(encodeFrame(frame));
    if (frame.type === 'data' && decoded.type === 'data') {
      expect(Buffer.from(decoded.chunk)).toEqual(Buffer.from(frame.chunk));
    } else {
      expect(decoded).toEqual(frame);
    }
  });

  it.each([
    ['not an array', raw.pack({ t: 1 }), 'BRL_PROTO_MALFORMED_FRAME'],
    ['unknown type', raw.pack([99, 1]), 'BRL_PROTO_UNKNOWN_FRAME_TYPE'],
    ['wrong arity', raw.pack([4, 1, 'extra']), 'BRL_PROTO_MALFORMED_FRAME'],
    ['negative stream', raw.pack([4, -1]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['fractional stream', raw.pack([4, 1.5]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['ping on a stream', raw.pack([7, 3, 1]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['data as text', raw.pack([3, 1, 'text']), 'BRL_PROTO_MALFORMED_FRAME'],
    ['call body as text', raw.pack([12, 1, 'GET', '/', [], 0, null, 'x', true]), 'BRL_PROTO_MALFORMED_FRAME'],
    [
      'call without its end flag',
      raw.pack([12, 1, 'GET', '/', [], 0, null, Buffer.alloc(0)]),
      'BRL_PROTO_MALFORMED_FRAME',
    ],
    [
      'oversized reply body',
      raw.pack([13, 1, 200, [], Buffer.alloc(Limits.maxChunkBytes + 1), true]),
      'BRL_PROTO_FRAME_TOO_LARGE',
    ],
    [
      'oversized chunk',
      raw.pack([3, 1, Buffer.alloc(Limits.maxChunkBytes + 1)]),
      'BRL_PROTO_FRAME_TOO_LARGE',
    ],
    ['zero credit', raw.pack([5, 1, 0]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['header with CRLF', raw.pack([1, 1, 'GET', '/', ['x', 'a\r\nb'], 0]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['header name with space', raw.pack([1, 1, 'GET', '/', ['x y', 'a'], 0]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['odd header list', raw.pack([1, 1, 'GET', '/', ['x'], 0]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['method with space', raw.pack([1, 1, 'GE T', '/', [], 0]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['status 42', raw.pack([2, 1, 42, []]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['truncated msgpack', Buffer.from([0x93, 0x01]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['empty message', Buffer.alloc(0), 'BRL_PROTO_MALFORMED_FRAME'],
    ['stream list with a bad id', raw.pack([11, 0, 3, [1, -2]]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['message too large', Buffer.alloc(Limits.maxMessageBytes + 1), 'BRL_PROTO_FRAME_TOO_LARGE'],
  ])('refuses %s with a protocol error', (_name, bytes, code) => {
    expect(codeOf(() => decodeFrame(bytes))).toBe(code);
  });

  it('every protocol error names a close code when it ends the connection', () => {
    const err = new ProtocolError('BRL_PROTO_FLOW_CONTROL');
    expect(err.closeCode).toBe(1002);
    expect(new ProtocolError('BRL_STREAM_CANCELLED').closeCode).toBeNull();
  });

  // The fuzz property: any bytes decode or raise ProtocolError; nothing else escapes, nothing hangs.
  it('any byte string decodes or raises a ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const code = codeOf(() => decodeFrame(bytes));
        expect(typeof code).toBe('string');
      }),
      { numRuns: 20_000 },
    );
  });

  it('mutated valid frames decode or raise a ProtocolError', () => {
    const valid = samples.map(encodeFrame);
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat({ max: 64 }),
        (base, flips, cut) => {
          const bytes = Buffer.from(base);
          for (const [pos, val] of flips) bytes[pos % bytes.length] = val;
          const sliced = bytes.subarray(0, Math.max(0, bytes.length - (cut % bytes.length)));
          const code = codeOf(() => decodeFrame(sliced));
          expect(typeof code).toBe('string');
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('structurally random msgpack values decode or raise a ProtocolError', () => {
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(
        fc.integer(),
        fc.double(),
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.uint8Array({ maxLength: 16 }),
        fc.integer({ min: 0, max: 14 }),
      ),
      node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 8 })),
    }));
    fc.assert(
      fc.property(fc.array(value.node, { maxLength: 8 }), (arr) => {
        const code = codeOf(() => decodeFrame(raw.pack(arr)));
        expect(typeof code).toBe('string');
      }),
      { numRuns: 10_000 },
    );
  });
});
