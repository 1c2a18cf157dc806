import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/kit/until.js';
import { encodeFrame } from './codec.js';
import { ProtocolError } from './errors.js';
import { type FrameSink, Tunnel, type TunnelCloseInfo, type TunnelOptions } from './tunnel.js';
import type { StreamHost, TunnelStream } from './tunnel-stream.js';

/** Two tunnels joined by an in-memory "socket" that delivers asynchronously, in order. */
function pair(
  requester: Partial<TunnelOptions> = {},
  responder: Partial<TunnelOptions> = {},
): { req: Tunnel; res: Tunnel; closes: { req?: TunnelCloseInfo; res?: TunnelCloseInfo } } {
  const closes: { req?: TunnelCloseInfo; res?: TunnelCloseInfo } = {};
  let req!: Tunnel;
  let res!: Tunnel;
  const sink = (peer: () => Tunnel, self: () => Tunnel): FrameSink => ({
    send(bytes, done) {
      setImmediate(() => {
        peer().receive(bytes);
        done();
      });
    },
    close(code, reason) {
      setImmediate(() => peer().transportClosed(code, reason));
      void self;
    },
  });
  const end = (
    side: 'req' | 'res',
    peer: () => Tunnel,
    self: () => Tunnel,
    options: Partial<TunnelOptions>,
  ) =>
    new Tunnel({
      role: side === 'req' ? 'requester' : 'responder',
      sink: sink(peer, self),
      onClose: (i) => {
        closes[side] = i;
      },
      ...options,
    });
  req = end(
    'req',
    () => res,
    () => req,
    requester,
  );
  res = end(
    'res',
    () => req,
    () => res,
    responder,
  );
  req.welcome(5000);
  tunnels.push(req, res);
  return { req, res, closes };
}

const tunnels: Tunnel[] = [];
afterEach(() => {
  for (const t of tunnels.splice(0)) t.close();
});

/** Makes `tunnel` drop a stream without telling its peer: the leak reconciliation exists for. */
function forget(tunnel: Tunnel, id: number): void {
  (tunnel as unknown as { host: StreamHost }).host.finished(id);
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Echo server: answers 200 with the request body, plus the request line in a header. */
function echo(stream: TunnelStream, head: { method: string; url: string }): void {
  stream.respond(200, [['x-request', `${head.method} ${head.url}`]]);
  stream.pipeFrom(stream.body).catch(() => {});
}

describe('tunnel', () => {
  it('carries a request and its response, bodies byte-identical in both directions', async () => {
    const { req } = pair({}, { onStream: echo });
    const payload = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const response = await req.request(
      { method: 'PUT', url: 'http://x/y', headers: [], timeoutMs: 0 },
      Readable.from([payload.subarray(0, 1000), payload.subarray(1000)]),
    );
    expect(response.status).toBe(200);
    expect(response.headers).toEqual([['x-request', 'PUT http://x/y']]);
    const got = await readAll(response.body);
    expect(createHash('sha256').update(got).digest('hex')).toBe(
      createHash('sha256').update(payload).digest('hex'),
    );
    await until(() => req.streamCount === 0);
  });

  it('a paused reader buffers at most its window and does not stall other streams', async () => {
    const window = 64 * 1024;
    const big = Buffer.alloc(4 * 1024 * 1024, 1);
    const { req, res } = pair(
      { window },
      {
        onStream: (stream) => {
          stream.respond(200, []);
          stream.pipeFrom(big).catch(() => {});
        },
      },
    );
    const paused = await req.request({ method: 'GET', url: '/paused', headers: [], timeoutMs: 0 });
    paused.body.pause();
    let maxBuffered = 0;
    const sampler = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, paused.stream.bufferedBytes());
    }, 1);
    const others = await Promise.all(
      Array.from({ length: 4 }, () =>
        req.request({ method: 'GET', url: '/other', headers: [], timeoutMs: 0 }),
      ),
    );
    const sizes = await Promise.all(others.map((r) => readAll(r.body).then((b) => b.length)));
    clearInterval(sampler);
    maxBuffered = Math.max(maxBuffered, paused.stream.bufferedBytes());
    expect(sizes).toEqual([big.length, big.length, big.length, big.length]);
    // The paused stream holds at most one window: credit follows what the reader took.
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(window);
    expect(res.streamCount).toBe(1);
    paused.body.destroy();
    await until(() => res.streamCount === 0 && req.streamCount === 0);
  });

  it.each([16 * 1024, 64 * 1024, 256 * 1024])(
    'window %i: a reader that stalls at random never deadlocks and never holds more than the window',
    async (window) => {
      const size = 2 * 1024 * 1024 + 333;
      const { req } = pair(
        { window },
        {
          onStream: (stream) => {
            stream.respond(200, []);
            // Odd chunk sizes, so chunks straddle every boundary.
            const chunks = function* () {
              for (let sent = 0; sent < size; ) {
                const n = Math.min(size - sent, 1 + Math.floor(Math.random() * 70_000));
                sent += n;
                yield Buffer.alloc(n, 1);
              }
            };
            stream.pipeFrom(chunks()).catch(() => {});
          },
        },
      );
      const res = await req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 });
      let got = 0;
      let maxBuffered = 0;
      for await (const c of res.body) {
        got += (c as Buffer).length;
        maxBuffered = Math.max(maxBuffered, res.stream.bufferedBytes());
        if (Math.random() < 0.2) await new Promise((r) => setTimeout(r, Math.random() * 3));
      }
      expect(got).toBe(size);
      expect(maxBuffered).toBeLessThanOrEqual(window);
    },
  );

  it('cancellation by the caller frees the stream on both ends', async () => {
    let seenAbort = false;
    const { req, res } = pair(
      {},
      {
        onStream: (stream) => {
          stream.respond(200, []);
          stream.signal.addEventListener('abort', () => {
            seenAbort = true;
          });
          void stream.write(Buffer.alloc(10));
        },
      },
    );
    const ac = new AbortController();
    const response = await req.request(
      { method: 'GET', url: '/', headers: [], timeoutMs: 0 },
      null,
      ac.signal,
    );
    ac.abort();
    await expect(readAll(response.body)).rejects.toMatchObject({ code: 'BRL_STREAM_CANCELLED' });
    await until(() => seenAbort && res.streamCount === 0 && req.streamCount === 0);
  });

  it('a reset from the responder rejects the request with its code, as data', async () => {
    const { req } = pair(
      {},
      {
        onStream: (stream) =>
          stream.reset(new ProtocolError('BRL_STREAM_DESTINATION_REFUSED', 'not in BOREALIS_ALLOW')),
      },
    );
    await expect(req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 })).rejects.toMatchObject({
      code: 'BRL_STREAM_DESTINATION_REFUSED',
      message: 'not in BOREALIS_ALLOW',
      retryable: false,
    });
    expect(req.closed).toBe(false);
  });

  it('a reset after a complete response keeps the queued body readable', async () => {
    const big = Buffer.alloc(200 * 1024, 7);
    const { req } = pair(
      {},
      {
        onStream: async (stream) => {
          stream.respond(200, []);
          await stream.pipeFrom(big);
          // The answer is complete; the request body is not needed any more.
          stream.reset(new ProtocolError('BRL_STREAM_CANCELLED', 'response complete'));
        },
      },
    );
    const res = await req.request(
      { method: 'POST', url: '/', headers: [], timeoutMs: 0 },
      Readable.from([Buffer.alloc(10)]),
    );
    res.body.pause();
    await new Promise((r) => setTimeout(r, 50));
    expect((await readAll(res.body)).length).toBe(big.length);
  });

  it('reconciliation reaps streams one side no longer knows, in both directions', async () => {
    const { req, res } = pair({}, { onStream: (s) => s.respond(200, []) });
    const a = await req.request({ method: 'GET', url: '/a', headers: [], timeoutMs: 0 });
    await until(() => res.streamCount === 1);
    // A leak on the requester's side: it forgot stream a without telling the agent.
    forget(req, a.stream.id);
    req.sendStreamList();
    await until(() => res.streamCount === 0);
    expect(res.reapedStreams).toBe(1);

    const b = await req.request({ method: 'GET', url: '/b', headers: [], timeoutMs: 0 });
    await until(() => res.streamCount === 1);
    // A leak on the agent's side: the requester's reader would wait forever without the reap.
    forget(res, b.stream.id);
    res.sendStreamList();
    await expect(readAll(b.body)).rejects.toMatchObject({ code: 'BRL_STREAM_INTERNAL' });
    expect(req.reapedStreams).toBe(1);
    expect(req.streamCount).toBe(0);
  });

  it('reconciliation never reaps a stream whose OPEN the peer has not seen yet', async () => {
    const { req, res } = pair({}, { onStream: (s) => s.respond(200, []) });
    // The agent's list is sent before it has seen the OPEN below.
    res.sendStreamList();
    const p = req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 });
    const r = await p;
    expect(req.reapedStreams).toBe(0);
    expect(req.streamCount).toBe(1);
    r.body.destroy();
  });

  it('in-flight streams fail with a disconnected error when the tunnel closes', async () => {
    const { req, res } = pair({}, { onStream: () => {} });
    const p = req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 });
    await until(() => res.streamCount === 1);
    res.close(1001, 'going away');
    await expect(p).rejects.toMatchObject({ code: 'BRL_STREAM_DISCONNECTED' });
  });

  it('the responder refuses streams past its limit with a busy reset', async () => {
    const { req } = pair({}, { maxConcurrentStreams: 2, onStream: () => {} });
    const held = [1, 2].map(() => req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 }));
    await expect(req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 })).rejects.toMatchObject({
      code: 'BRL_STREAM_BUSY',
      retryable: true,
    });
    expect(req.streamCount).toBe(2);
    for (const p of held) p.catch(() => {});
  });

  it('a draining responder takes no new streams and tells the requester', async () => {
    const { req, res } = pair({}, { onStream: echo });
    res.drain();
    await until(() => req.draining);
    await expect(req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 })).rejects.toMatchObject({
      code: 'BRL_STREAM_DRAINING',
    });
  });

  it('a silent peer is detected by heartbeat timeout', async () => {
    const closes: TunnelCloseInfo[] = [];
    const t = new Tunnel({
      role: 'requester',
      sink: { send: () => {}, close: () => {} },
      heartbeatIntervalMs: 20,
      heartbeatTimeoutMs: 60,
      onClose: (i) => closes.push(i),
    });
    tunnels.push(t);
    await until(() => closes.length === 1);
    expect(closes[0]?.error?.code).toBe('BRL_PROTO_HEARTBEAT_TIMEOUT');
    expect(closes[0]?.code).toBe(4000);
  });

  describe('hostile peer frames close the connection with a reason', () => {
    const cases: Array<[string, Uint8Array, string]> = [
      [
        'an agent opening a stream',
        encodeFrame({ type: 'open', stream: 1, method: 'GET', url: '/', headers: [], timeoutMs: 0 }),
        'BRL_PROTO_STREAM_NOT_ALLOWED',
      ],
      [
        'data for a stream never opened',
        encodeFrame({ type: 'data', stream: 99, chunk: new Uint8Array(1) }),
        'BRL_PROTO_UNKNOWN_STREAM',
      ],
      [
        'a response for a stream never opened',
        encodeFrame({ type: 'response', stream: 5, status: 200, headers: [] }),
        'BRL_PROTO_UNKNOWN_STREAM',
      ],
      ['garbage', new Uint8Array([1, 2, 3]), 'BRL_PROTO_MALFORMED_FRAME'],
      [
        'a drain... no: a welcome from the agent',
        encodeFrame({ type: 'welcome', stream: 0, sessionId: 'x', maxStreams: 1, window: 1, heartbeatMs: 1 }),
        'BRL_PROTO_STREAM_NOT_ALLOWED',
      ],
    ];
    it.each(cases)('%s', async (_name, bytes, code) => {
      const closed: Array<{ code: number; reason: string }> = [];
      const t = new Tunnel({
        role: 'requester',
        sink: { send: (_b, done) => done(), close: (c, r) => closed.push({ code: c, reason: r }) },
      });
      tunnels.push(t);
      t.receive(bytes);
      expect(t.closed).toBe(true);
      expect(closed[0]?.reason).toContain(code);
      expect(Buffer.byteLength(closed[0]?.reason ?? '')).toBeLessThanOrEqual(123);
    });

    it('more data than the window allows', async () => {
      const closed: string[] = [];
      const { req, res } = pair({ window: 1024 }, { onStream: (s) => s.respond(200, []) });
      const r = await req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 });
      r.body.pause();
      // Bypass the responder's stream (which respects credit) and write raw frames.
      const t = req as unknown as { sink: FrameSink };
      void t;
      req.receive(encodeFrame({ type: 'data', stream: r.stream.id, chunk: new Uint8Array(1024) }));
      expect(req.closed).toBe(false);
      const origClose = closed;
      req.receive(encodeFrame({ type: 'data', stream: r.stream.id, chunk: new Uint8Array(1) }));
      expect(req.closed).toBe(true);
      void origClose;
      void res;
    });
  });

  it('late frames for a stream this side already reset are dropped, not fatal', async () => {
    const { req } = pair({}, { onStream: (s) => s.respond(200, []) });
    const ac = new AbortController();
    const r = await req.request({ method: 'GET', url: '/', headers: [], timeoutMs: 0 }, null, ac.signal);
    ac.abort();
    req.receive(encodeFrame({ type: 'data', stream: r.stream.id, chunk: new Uint8Array(5) }));
    expect(req.closed).toBe(false);
  });
});
