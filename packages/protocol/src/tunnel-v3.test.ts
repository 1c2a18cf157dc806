import { afterEach, describe, expect, it } from 'vitest';
import { DATA_HEADROOM, decodeFrame, encodeDataInto, encodeFrame } from './codec.js';
import { Limits } from './frames.js';
import { Tunnel, type TunnelCloseInfo } from './tunnel.js';

/**
 * Issue 17, large transfers: from protocol v3 a DATA frame carries up to
 * `Limits.maxDataChunkBytesV3`, and a stream's writes that come together fill one frame (the bytes
 * built in place, not copied again). v1 and v2 peers keep getting frames of at most 64 KiB.
 */
function pair(version: 1 | 2 | 3, onStream: ConstructorParameters<typeof Tunnel>[0]['onStream']) {
  const data: Record<'req' | 'res', number[]> = { req: [], res: [] };
  let req!: Tunnel;
  let res!: Tunnel;
  const sink = (from: 'req' | 'res') => ({
    send(bytes: Uint8Array, done: () => void) {
      const frame = decodeFrame(bytes, Limits.maxDataChunkBytesV3);
      if (frame.type === 'data') data[from].push(frame.chunk.byteLength);
      setImmediate(() => {
        (from === 'req' ? res : req).receive(bytes);
        done();
      });
    },
    close() {},
  });
  req = new Tunnel({ role: 'requester', version, sink: sink('req'), window: 1024 * 1024 });
  res = new Tunnel({ role: 'responder', version, sink: sink('res'), onStream });
  tunnels.push(req, res);
  req.welcome(2000);
  return { req, res, data };
}

const tunnels: Tunnel[] = [];
afterEach(() => {
  for (const t of tunnels.splice(0)) t.close();
});

async function read(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Streams the request body back, written in the 64 KiB pieces a socket would give. */
const echo: ConstructorParameters<typeof Tunnel>[0]['onStream'] = async (stream) => {
  stream.respond(200, []);
  for await (const c of stream.body) await stream.write(c);
  stream.end();
};

/** 1 MiB with every byte depending on its position, in 64 KiB pieces. */
const payload = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7 + (i >> 16)) & 0xff));
async function* pieces() {
  for (let at = 0; at < payload.byteLength; at += 64 * 1024) yield payload.subarray(at, at + 64 * 1024);
}

describe('protocol v3: large DATA frames', () => {
  it('writes that come together go as frames of up to the v3 limit, both ways, bytes intact', async () => {
    const { req, data } = pair(3, echo);
    const r = await req.request({ method: 'POST', url: '/', headers: [], timeoutMs: 0 }, pieces());
    expect((await read(r.body)).equals(payload)).toBe(true);
    for (const side of ['req', 'res'] as const) {
      expect(Math.max(...data[side])).toBeGreaterThan(Limits.maxChunkBytes);
      expect(Math.max(...data[side])).toBeLessThanOrEqual(Limits.maxDataChunkBytesV3);
      expect(data[side].reduce((a, b) => a + b, 0)).toBe(payload.byteLength);
    }
  });

  it.each([1, 2] as const)('a v%i tunnel still sends DATA frames of at most 64 KiB', async (version) => {
    const { req, data } = pair(version, echo);
    const r = await req.request({ method: 'POST', url: '/', headers: [], timeoutMs: 0 }, pieces());
    expect((await read(r.body)).equals(payload)).toBe(true);
    expect(Math.max(...data.req, ...data.res)).toBeLessThanOrEqual(Limits.maxChunkBytes);
  });

  it('a v2 tunnel refuses a DATA frame over 64 KiB; a v3 one refuses one over its limit', () => {
    for (const [version, size] of [
      [2, Limits.maxChunkBytes + 1],
      [3, Limits.maxDataChunkBytesV3 + 1],
    ] as const) {
      const closes: TunnelCloseInfo[] = [];
      const t = new Tunnel({
        role: 'requester',
        version,
        sink: { send: (_b, done) => done(), close: () => {} },
        onClose: (i) => closes.push(i),
      });
      tunnels.push(t);
      const buf = Buffer.alloc(DATA_HEADROOM + size);
      t.receive(encodeDataInto(1, buf, size));
      expect(closes[0]?.error?.code).toBe('BRL_PROTO_FRAME_TOO_LARGE');
    }
  });

  it('a write copies its bytes: the caller may reuse its buffer once the write returns', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const { req } = pair(3, async (stream) => {
      stream.body.resume();
      stream.respond(200, []);
      const block = Buffer.alloc(1000, 1);
      for (let i = 1; i <= 5; i++) {
        block.fill(i);
        await stream.write(block); // returns before the frame is sent (it is filled further first)
      }
      block.fill(9);
      await released;
      stream.end();
    });
    const r = await req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 });
    const got = read(r.body);
    release();
    const body = await got;
    expect([...body].filter((_, i) => i % 1000 === 0)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a paused reader still holds exactly its window with large frames', async () => {
    const window = 1024 * 1024;
    const { req } = pair(3, async (stream) => {
      stream.respond(200, []);
      const block = Buffer.alloc(64 * 1024, 3);
      try {
        for (;;) await stream.write(block);
      } catch {
        // reset when the test ends
      }
    });
    const r = await req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 });
    // Never read: the sender stops once the window is in flight.
    let last = -1;
    for (let i = 0; i < 200 && r.stream.bufferedBytes() !== last; i++) {
      last = r.stream.bufferedBytes();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(r.stream.bufferedBytes()).toBe(window);
  });
});

describe('encodeDataInto', () => {
  it('gives the bytes encodeFrame gives, for every stream-id and length encoding', () => {
    const ids = [1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    const lengths = [0, 1, 255, 256, 65_535, 65_536, Limits.maxDataChunkBytesV3];
    for (const id of ids) {
      for (const n of lengths) {
        const chunk = Buffer.alloc(n, n & 0xff);
        const buf = Buffer.alloc(DATA_HEADROOM + n);
        chunk.copy(buf, DATA_HEADROOM);
        const inPlace = encodeDataInto(id, buf, n);
        expect(
          Buffer.from(inPlace).equals(Buffer.from(encodeFrame({ type: 'data', stream: id, chunk }))),
        ).toBe(true);
        const decoded = decodeFrame(inPlace, Limits.maxDataChunkBytesV3);
        expect(decoded.type === 'data' && decoded.stream === id && decoded.chunk.byteLength === n).toBe(true);
      }
    }
  });
});
