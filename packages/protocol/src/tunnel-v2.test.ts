import { getEventListeners } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeFrame, encodeFrame } from './codec.js';
import { heartbeatDetectionBoundMs } from './heartbeat.js';
import { Tunnel, type TunnelCloseInfo } from './tunnel.js';

/** Issue 17: protocol v2 framing and heartbeats, over an in-memory socket that logs frame types. */
function pair(version: 1 | 2, onStream: ConstructorParameters<typeof Tunnel>[0]['onStream']) {
  const wire: Array<{ from: 'req' | 'res'; type: string }> = [];
  let req!: Tunnel;
  let res!: Tunnel;
  const sink = (from: 'req' | 'res') => ({
    send(bytes: Uint8Array, done: () => void) {
      wire.push({ from, type: decodeFrame(bytes).type });
      setImmediate(() => {
        (from === 'req' ? res : req).receive(bytes);
        done();
      });
    },
    close() {},
  });
  req = new Tunnel({ role: 'requester', version, sink: sink('req') });
  res = new Tunnel({ role: 'responder', version, sink: sink('res'), onStream });
  tunnels.push(req, res);
  req.welcome(2000);
  return { req, res, wire };
}

const tunnels: Tunnel[] = [];
afterEach(() => {
  for (const t of tunnels.splice(0)) t.close();
  vi.useRealTimers();
});

const echo: ConstructorParameters<typeof Tunnel>[0]['onStream'] = async (stream) => {
  const whole = stream.takeWholeBody();
  const chunks: Buffer[] = [];
  if (!whole) for await (const c of stream.body) chunks.push(Buffer.from(c));
  await stream.respondWhole(200, [], whole ?? Buffer.concat(chunks));
};

async function read(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

const streamTypes = (wire: Array<{ from: string; type: string }>, from: string) =>
  wire
    .filter((w) => w.from === from && !['welcome', 'ping', 'pong', 'streams'].includes(w.type))
    .map((w) => w.type);

describe('protocol v2', () => {
  it('a small call and its answer are one frame each way; the body arrives whole', async () => {
    const { req, wire } = pair(2, echo);
    const r = await req.request({ method: 'POST', url: '/', headers: [], timeoutMs: 0 }, 'hello');
    expect((await read(r.body)).toString()).toBe('hello');
    expect(streamTypes(wire, 'req')).toEqual(['call']);
    expect(streamTypes(wire, 'res')).toEqual(['reply']);
    expect(req.streamCount).toBe(0);
  });

  it('a streamed body with a small content-length is gathered into the CALL', async () => {
    const { req, wire } = pair(2, echo);
    async function* parts() {
      yield Buffer.from('he');
      yield Buffer.from('llo');
    }
    const r = await req.request(
      { method: 'POST', url: '/', headers: [['Content-Length', '5']], timeoutMs: 0 },
      parts(),
    );
    expect((await read(r.body)).toString()).toBe('hello');
    expect(streamTypes(wire, 'req')).toEqual(['call']);
  });

  it('a body longer than it declared, or of unknown length, streams as in v1', async () => {
    const { req, wire } = pair(2, echo);
    async function* parts() {
      yield Buffer.alloc(70 * 1024, 1);
      yield Buffer.alloc(10, 2);
    }
    const lying = await req.request(
      { method: 'POST', url: '/', headers: [['content-length', '10']], timeoutMs: 0 },
      parts(),
    );
    expect((await read(lying.body)).byteLength).toBe(70 * 1024 + 10);
    const unknown = await req.request({ method: 'POST', url: '/', headers: [], timeoutMs: 0 }, parts());
    expect((await read(unknown.body)).byteLength).toBe(70 * 1024 + 10);
    const sent = streamTypes(wire, 'req');
    expect(sent.filter((t) => t === 'call')).toEqual([]);
    expect(sent.filter((t) => t === 'open')).toHaveLength(2);
    // The answers are over one frame's limit too: a head, then data, then end.
    expect(streamTypes(wire, 'res').filter((t) => t !== 'credit')[0]).toBe('response');
  });

  it('a Node.js Readable with a small content-length is gathered by events into the CALL', async () => {
    const { req, wire } = pair(2, echo);
    const body = new PassThrough();
    const pending = req.request(
      { method: 'POST', url: '/', headers: [['content-length', '11']], timeoutMs: 0 },
      body,
    );
    body.write('hello ');
    setImmediate(() => body.end('world'));
    const r = await pending;
    expect((await read(r.body)).toString()).toBe('hello world');
    expect(streamTypes(wire, 'req')).toEqual(['call']);
  });

  it('a Readable longer than it declared streams on from where gathering stopped', async () => {
    const { req, wire } = pair(2, echo);
    const parts = [Buffer.alloc(40 * 1024, 1), Buffer.alloc(40 * 1024, 2), Buffer.alloc(5, 3)];
    const r = await req.request(
      { method: 'POST', url: '/', headers: [['content-length', '10']], timeoutMs: 0 },
      Readable.from(parts),
    );
    expect((await read(r.body)).equals(Buffer.concat(parts))).toBe(true);
    expect(streamTypes(wire, 'req').filter((t) => t === 'call')).toEqual([]);
    expect(streamTypes(wire, 'req')[0]).toBe('open');
  });

  it('a Readable that fails while it is gathered fails the request; an abort streams what came', async () => {
    const { req, wire } = pair(2, echo);
    const failing = new PassThrough();
    const failed = req.request(
      { method: 'POST', url: '/', headers: [['content-length', '5']], timeoutMs: 0 },
      failing,
    );
    failing.write('he');
    setImmediate(() => failing.destroy(new Error('caller hung up')));
    await expect(failed).rejects.toThrow('caller hung up');
    expect(streamTypes(wire, 'req')).toEqual([]);

    const slow = new PassThrough();
    const ac = new AbortController();
    const aborted = req.request(
      { method: 'POST', url: '/', headers: [['content-length', '5']], timeoutMs: 0 },
      slow,
      ac.signal,
    );
    slow.write('he');
    setImmediate(() => ac.abort());
    await expect(aborted).rejects.toMatchObject({ code: 'BRL_STREAM_CANCELLED' });
    expect(streamTypes(wire, 'req')).toEqual(['open', 'reset']);
  });

  it("a caller's abort listener comes off when the call is over; a stream's signal still tells of a failure", async () => {
    const { req } = pair(2, echo);
    const ac = new AbortController();
    const r = await req.request({ method: 'POST', url: '/', headers: [], timeoutMs: 0 }, 'hi', ac.signal);
    expect((await read(r.body)).toString()).toBe('hi');
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    expect(r.stream.signal.aborted).toBe(false);

    const { req: req2 } = pair(2, () => {}); // never answers
    const ac2 = new AbortController();
    const pending = req2.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 }, null, ac2.signal);
    expect(getEventListeners(ac2.signal, 'abort')).toHaveLength(1);
    ac2.abort();
    await expect(pending).rejects.toMatchObject({ code: 'BRL_STREAM_CANCELLED' });
    expect(getEventListeners(ac2.signal, 'abort')).toHaveLength(0);
  });

  it('v1 tunnels send no v2 frames, and a v1 tunnel refuses one', async () => {
    const { req, wire } = pair(1, echo);
    const r = await req.request({ method: 'POST', url: '/', headers: [], timeoutMs: 0 }, 'hello');
    expect((await read(r.body)).toString()).toBe('hello');
    expect(streamTypes(wire, 'req')).toEqual(['open', 'data', 'end']);
    expect(streamTypes(wire, 'res')).toEqual(['response', 'data', 'end']);

    const closes: TunnelCloseInfo[] = [];
    const v1 = new Tunnel({
      role: 'responder',
      sink: { send: (_b, done) => done(), close: () => {} },
      onClose: (i) => closes.push(i),
    });
    tunnels.push(v1);
    v1.receive(
      encodeFrame({
        type: 'call',
        stream: 1,
        method: 'GET',
        url: '/',
        headers: [],
        timeoutMs: 0,
        body: new Uint8Array(0),
        end: true,
      }),
    );
    expect(closes[0]?.error?.code).toBe('BRL_PROTO_UNKNOWN_FRAME_TYPE');
  });

  it('a v2 responder leaves pinging to the requester, and still notices a silent one in time', () => {
    vi.useFakeTimers();
    const pings = { req: 0, res: 0 };
    let req!: Tunnel;
    let res!: Tunnel;
    const closes: TunnelCloseInfo[] = [];
    let requesterFrozen = false;
    const sink = (from: 'req' | 'res') => ({
      send(bytes: Uint8Array, done: () => void) {
        if (decodeFrame(bytes).type === 'ping') pings[from]++;
        if (from === 'req' && requesterFrozen) return done();
        (from === 'req' ? res : req).receive(bytes);
        done();
      },
      close() {},
    });
    req = new Tunnel({ role: 'requester', version: 2, sink: sink('req') });
    res = new Tunnel({ role: 'responder', version: 2, sink: sink('res'), onClose: (i) => closes.push(i) });
    tunnels.push(req, res);
    vi.advanceTimersByTime(20 * 2000);
    expect(pings.req).toBeGreaterThanOrEqual(19);
    // Every tenth tick, for its round-trip figure.
    expect(pings.res).toBeLessThanOrEqual(2);
    expect(closes).toHaveLength(0);
    requesterFrozen = true;
    vi.advanceTimersByTime(heartbeatDetectionBoundMs(2000));
    expect(closes[0]?.error?.code).toBe('BRL_PROTO_HEARTBEAT_TIMEOUT');
  });

  it('an idle tunnel lists its (no) streams once, not every reconciliation period', () => {
    vi.useFakeTimers();
    let lists = 0;
    const t = new Tunnel({
      role: 'requester',
      reconcileIntervalMs: 2000,
      sink: {
        send: (b, done) => {
          if (decodeFrame(b).type === 'streams') lists++;
          done();
        },
        close: () => {},
      },
    });
    tunnels.push(t);
    // The peer answers pings so the tunnel stays up.
    for (let i = 0; i < 5; i++) {
      t.receive(encodeFrame({ type: 'pong', stream: 0, nonce: 0 }));
      vi.advanceTimersByTime(2000);
    }
    expect(lists).toBe(1);
  });
});
