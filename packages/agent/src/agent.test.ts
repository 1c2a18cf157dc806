import { readFileSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { AgentHeaders, CloseCodes, offeredSubprotocols } from '@borealis/protocol';
import { describe, expect, it } from 'vitest';
import type { AgentOptions } from './agent-options.js';
import { agentBench, readAll, startControlPlane, until } from './control-plane-double.test-util.js';

const bench = agentBench({
  identifier: 'test-agent',
  clientId: 'client',
  allow: '127.0.0.1',
  reconnectBase: '20ms',
  reconnectMax: '200ms',
});

const controlPlane = bench.controlPlane;

interface Target {
  port: number;
  origin: string;
  requests: IncomingMessage[];
  bodies: string[];
}

/** A real HTTP server on loopback, port 0, that counts what reaches it. */
async function target(
  handler?: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<Target> {
  const t: Target = { port: 0, origin: '', requests: [], bodies: [] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    t.requests.push(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      t.bodies.push(body);
      if (handler) handler(req, res, body);
      else {
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.setHeader('x-echo-method', req.method ?? '');
        res.end(`you sent ${body}`);
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.port = (server.address() as AddressInfo).port;
  t.origin = `http://127.0.0.1:${t.port}`;
  bench.cleanup(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return t;
}

const agent = bench.agent;

/** A `refuse` answering 503 BRL_ERR_UNAVAILABLE (`message`) to the next `left` connections. */
function unavailableFor(message: string, left: number) {
  const refusals = {
    left,
    refuse: () =>
      refusals.left-- > 0
        ? { status: 503, body: JSON.stringify({ error: { code: 'BRL_ERR_UNAVAILABLE', message } }) }
        : undefined,
  };
  return refusals;
}

/** Listens on a free local port; the bench's cleanup destroys `sockets` and closes the server. */
async function listenClosingSockets(server: Server, sockets: Socket[]): Promise<void> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  bench.cleanup(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    })
      .on('error', reject)
      .end();
  });
}

describe('agent against a real control plane double', () => {
  it('performs a request and streams the answer back (status, repeated headers, body)', async () => {
    const cp = await controlPlane();
    const t = await target();
    const a = await agent(cp);
    await a.ready;
    const session = await cp.waitForSessions(1);

    // The upgrade request: subprotocol, Basic credentials, identity headers.
    const up = cp.upgrades[0]!;
    expect(up.url).toBe('/api/v1/agents/connect');
    expect(up.headers['sec-websocket-protocol']).toBe(offeredSubprotocols().join(','));
    expect(up.headers.authorization).toBe(`Basic ${Buffer.from('client:s3cret').toString('base64')}`);
    expect(up.headers[AgentHeaders.identifier]).toBe('test-agent');
    expect(up.headers[AgentHeaders.instanceId]).toMatch(/^[0-9a-f-]{36}$/);
    expect(up.headers[AgentHeaders.version]).toBe('0.1.0');

    const res = await session.request(
      {
        method: 'POST',
        url: `${t.origin}/hook?token=abc`,
        headers: [
          ['content-type', 'text/plain'],
          ['x-multi', 'one'],
          ['x-multi', 'two'],
          ['connection', 'x-hop'],
          ['x-hop', 'must not pass'],
        ],
      },
      'hello',
    );
    expect(res.status).toBe(200);
    expect(res.headers.filter(([n]) => n === 'set-cookie')).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    expect(res.headers).toContainEqual(['x-echo-method', 'POST']);
    expect(res.headers.some(([n]) => n === 'connection' || n === 'keep-alive')).toBe(false);
    expect((await readAll(res.body)).toString()).toBe('you sent hello');

    const seen = t.requests[0]!;
    expect(seen.url).toBe('/hook?token=abc');
    expect(seen.headers['x-multi']).toBe('one, two');
    expect(seen.headers['x-hop']).toBeUndefined();

    // Logs name origin and path, never the query string or headers.
    await until(() => a.lines.some((l) => l.msg === 'request done'));
    const done = a.lines.find((l) => l.msg === 'request done')!;
    expect(done).toMatchObject({
      stream: 1,
      method: 'POST',
      host: `127.0.0.1:${t.port}`,
      path: '/hook',
      status: 200,
    });
    expect(JSON.stringify(a.lines)).not.toContain('token=abc');
    expect(JSON.stringify(a.lines)).not.toContain(Buffer.from('client:s3cret').toString('base64'));
    expect(a.lines.find((l) => l.msg === 'connected')).toMatchObject({
      identifier: 'test-agent',
      sessionId: session.tunnel.sessionId,
    });
    expect(a.lines.find((l) => l.msg === 'listening')).toMatchObject({ port: a.healthPort });
  });

  it('streams a large response under flow control, byte for byte', async () => {
    const cp = await controlPlane();
    const big = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const t = await target((_req, res) => res.end(big));
    const a = await agent(cp);
    await a.ready;
    const session = await cp.waitForSessions(1);
    const res = await session.request({ url: `${t.origin}/big` });
    const got = await readAll(res.body);
    expect(got.equals(big)).toBe(true);
  });

  it('a refused destination sends nothing to the target and says how to allow it', async () => {
    const cp = await controlPlane();
    const t = await target();
    const a = await agent(cp, { allow: 'api.internal:443' });
    await a.ready;
    const session = await cp.waitForSessions(1);
    await expect(session.request({ url: `${t.origin}/x` })).rejects.toMatchObject({
      code: 'BRL_STREAM_DESTINATION_REFUSED',
      retryable: false,
      message: `127.0.0.1:${t.port} is not in BOREALIS_ALLOW (api.internal:443); add it, e.g. BOREALIS_ALLOW=api.internal:443,127.0.0.1:${t.port}`,
    });
    expect(t.requests).toHaveLength(0);
    expect(a.metrics.refusedDestinationsTotal).toBe(1);
    const metrics = await get(a.healthPort, '/metrics');
    expect(metrics.body).toContain('borealis_agent_refused_destinations_total 1');
    expect(metrics.body).toContain('borealis_agent_requests_total{outcome="refused"} 1');
  });

  it('with no allow-list every destination is refused', async () => {
    const cp = await controlPlane();
    const t = await target();
    const a = await agent(cp, { allow: undefined });
    await a.ready;
    const session = await cp.waitForSessions(1);
    await expect(session.request({ url: `${t.origin}/x` })).rejects.toMatchObject({
      code: 'BRL_STREAM_DESTINATION_REFUSED',
    });
    expect(t.requests).toHaveLength(0);
    expect(a.lines.some((l) => l.level === 40 && String(l.msg).startsWith('BOREALIS_ALLOW is empty'))).toBe(
      true,
    );
  });

  it('maps a closed port to a retryable connect failure', async () => {
    const cp = await controlPlane();
    const t = await target();
    const closedPort = t.port;
    await bench.runLastCleanup(); // close the target: its port now refuses connections
    const a = await agent(cp);
    await a.ready;
    const session = await cp.waitForSessions(1);
    await expect(session.request({ url: `http://127.0.0.1:${closedPort}/` })).rejects.toMatchObject({
      code: 'BRL_STREAM_CONNECT_FAILED',
      retryable: true,
    });
  });

  it('maps a silent destination to a timeout', async () => {
    const cp = await controlPlane();
    const t = await target(() => {
      // never answers
    });
    const a = await agent(cp);
    await a.ready;
    const session = await cp.waitForSessions(1);
    await expect(session.request({ url: `${t.origin}/slow`, timeoutMs: 200 })).rejects.toMatchObject({
      code: 'BRL_STREAM_TIMEOUT',
      retryable: true,
    });
  });

  it('cancelling on the control plane aborts the call to the destination', async () => {
    const cp = await controlPlane();
    let aborted = false;
    const t = await target((req) => {
      req.socket.on('close', () => {
        aborted = true;
      });
    });
    const a = await agent(cp);
    await a.ready;
    const session = await cp.waitForSessions(1);
    const controller = new AbortController();
    const pending = session.tunnel.request(
      { method: 'GET', url: `${t.origin}/hang`, headers: [], timeoutMs: 0 },
      null,
      controller.signal,
    );
    pending.catch(() => {});
    await until(() => t.requests.length === 1);
    controller.abort();
    await until(() => aborted);
    await until(() => a.status().streamsInFlight === 0);
  });

  it('resets with BRL_STREAM_CANCELLED when the destination answers before reading the request body', async () => {
    const cp = await controlPlane();
    // Answers as soon as the head arrives, without reading the body.
    const sockets: Socket[] = [];
    const early = createServer((_req, res) => {
      res.writeHead(413).end('too large');
    });
    early.on('connection', (s) => sockets.push(s));
    await listenClosingSockets(early, sockets);
    const port = (early.address() as AddressInfo).port;
    const a = await agent(cp);
    await a.ready;
    const session = await cp.waitForSessions(1);
    // A body that never ends: only a reset from the agent can stop the sender.
    async function* endless() {
      for (;;) {
        yield Buffer.alloc(16 * 1024, 1);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const res = await session.tunnel.request(
      { method: 'PUT', url: `http://127.0.0.1:${port}/upload`, headers: [], timeoutMs: 0 },
      endless(),
    );
    expect(res.status).toBe(413);
    await until(() => res.stream.ended);
    expect(res.stream.signal.reason).toMatchObject({ code: 'BRL_STREAM_CANCELLED' });
  });

  it('wrong credentials: logs the refusal and backs off at least the max, no tight loop', async () => {
    const cp = await controlPlane({
      refuse: () => ({
        status: 401,
        body: JSON.stringify({
          error: { code: 'BRL_ERR_AGENT_AUTH', message: 'unknown client id or wrong secret' },
        }),
      }),
    });
    // Without the penalty, 20 ms base would allow dozens of attempts in a second.
    const a = await agent(cp, { reconnectBase: '20ms', reconnectMax: '400ms', random: () => 0 });
    await until(() => cp.upgrades.length >= 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(cp.upgrades.length).toBeGreaterThanOrEqual(2);
    expect(cp.upgrades.length).toBeLessThanOrEqual(4);
    const refusal = a.lines.find((l) => String(l.msg).startsWith('control plane refused the connection'));
    expect(refusal).toMatchObject({ level: 50, status: 401, code: 'BRL_ERR_AGENT_AUTH' });
    expect(String(refusal?.msg)).toContain('401 BRL_ERR_AGENT_AUTH: unknown client id or wrong secret');
    const reconnect = a.lines.find((l) => String(l.msg).startsWith('reconnecting in'));
    expect(reconnect?.delayMs).toBeGreaterThanOrEqual(400);
    const ready = await get(a.healthPort, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).error).toContain('401 BRL_ERR_AGENT_AUTH');
    expect((await get(a.healthPort, '/healthz')).status).toBe(200);
  });

  it('a protocol version mismatch names both versions', async () => {
    const cp = await controlPlane({
      refuse: () => ({
        status: 426,
        headers: { 'x-borealis-protocol-versions': '4' },
        body: JSON.stringify({
          error: {
            code: 'BRL_ERR_PROTOCOL_VERSION',
            message: 'agent speaks v1 to v3, control plane speaks v4',
          },
        }),
      }),
    });
    const a = await agent(cp);
    await until(() => a.lines.some((l) => l.code === 'BRL_ERR_PROTOCOL_VERSION'));
    const line = a.lines.find((l) => l.code === 'BRL_ERR_PROTOCOL_VERSION')!;
    expect(line).toMatchObject({ status: 426, agentProtocols: 'v1, v2 and v3', controlPlaneProtocols: '4' });
    expect(String(line.msg)).toContain(
      'this agent speaks protocol v1, v2 and v3; the control plane speaks 4',
    );
  });

  it('reconnects after the control plane restarts, and serves on the new session', async () => {
    const first = await startControlPlane();
    const port = first.port;
    const a = await agent(first);
    await a.ready;
    const t = await target();
    await first.close();
    await until(() => a.status().state === 'backoff' || a.status().state === 'connecting');
    expect(a.status().connected).toBe(false);
    const second = await controlPlane({ port });
    const session = await second.waitForSessions(1);
    await until(() => a.status().connections === 2);
    const res = await session.request({ url: `${t.origin}/after-restart` });
    expect(res.status).toBe(200);
    await readAll(res.body);
    expect(a.lines.filter((l) => l.msg === 'connected')).toHaveLength(2);
    expect(a.lines.some((l) => l.msg === 'disconnected')).toBe(true);
    expect(
      a.lines.some((l) => String(l.msg).startsWith('reconnecting in') && typeof l.delayMs === 'number'),
    ).toBe(true);
    expect(a.metrics.reconnectsTotal).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['resets the backoff after a connection that stayed up', '50ms', 19],
    ['keeps counting when the connection dropped before stableAfter', '10s', 159],
  ])('%s', async (_name, stableAfter, expectedDelay) => {
    const refusals = unavailableFor('starting', 3);
    const cp = await controlPlane({ refuse: refusals.refuse });
    // random → just under 1: each delay is its ceiling minus one (19, 39, 79 ms for the refusals).
    const a = await agent(cp, {
      reconnectBase: '20ms',
      reconnectMax: '10s',
      stableAfter,
      random: () => 0.999,
    });
    await a.ready;
    const delays = () => a.lines.filter((l) => typeof l.delayMs === 'number').map((l) => l.delayMs);
    expect(delays()).toEqual([19, 39, 79]);
    await new Promise((r) => setTimeout(r, 100));
    cp.sessions[0]!.ws.terminate();
    await until(() => delays().length === 4);
    expect(delays()[3]).toBe(expectedDelay);
  });

  it.each([
    // Clean: the first redial within 1 s, then the backoff grows but never past 3 s.
    [
      'redials at once after the control plane closed cleanly, and stays under 3 s',
      true,
      [1000, 1000, 2000, 3000, 3000],
    ],
    ['backs off as usual after an unclean drop', false, [1000, 2000, 4000, 8000, 16000]],
  ])('%s', async (_name, clean, expectedCeilings) => {
    const refusals = unavailableFor('restarting', 0);
    const cp = await controlPlane({ refuse: refusals.refuse });
    // A tiny random draw keeps the real waits short; the ceilings logged are what is asserted.
    const a = await agent(cp, { reconnectBase: '1s', reconnectMax: '30s', random: () => 0.001 });
    await a.ready;
    refusals.left = 4;
    const session = cp.sessions[0]!;
    if (clean) session.tunnel.close(CloseCodes.goingAway, 'control plane shutting down');
    else session.ws.terminate();
    await cp.waitForSessions(2);
    // The double sees the session as soon as it accepts the upgrade; the agent counts its second
    // connection only once it has read WELCOME, a moment later.
    await until(() => a.status().connections === 2);
    const ceilings = a.lines.filter((l) => typeof l.ceilingMs === 'number').map((l) => l.ceilingMs);
    expect(ceilings).toEqual(expectedCeilings);
    expect(a.status().connections).toBe(2);
  });

  it('drain finishes in-flight streams, refuses new ones, closes with the drained code and stays down', async () => {
    const cp = await controlPlane();
    const t = await target((_req, res) => setTimeout(() => res.end('slow answer'), 300));
    const a = await agent(cp, { drainGrace: '5s' });
    await a.ready;
    const session = await cp.waitForSessions(1);
    const inFlight = session.request({ url: `${t.origin}/slow` });
    await until(() => t.requests.length === 1);
    const drained = a.drain();
    await until(() => session.peerDraining);
    await expect(session.request({ url: `${t.origin}/new` })).rejects.toMatchObject({
      code: 'BRL_STREAM_DRAINING',
    });
    const res = await inFlight;
    expect((await readAll(res.body)).toString()).toBe('slow answer');
    await drained;
    expect((await session.closed).code).toBe(CloseCodes.drained);
    expect(a.status().state).toBe('stopped');
    await new Promise((r) => setTimeout(r, 300));
    expect(cp.upgrades).toHaveLength(1);
    expect(t.requests).toHaveLength(1);
  });

  it('health: /readyz is 200 with the session once connected; /metrics shows the gauge', async () => {
    const cp = await controlPlane({ heartbeatMs: 100 });
    const a = await agent(cp);
    await a.ready;
    const session = await cp.waitForSessions(1);
    const ready = await get(a.healthPort, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', sessionId: session.tunnel.sessionId });
    await until(() => !Number.isNaN(a.metrics.heartbeatRttSeconds));
    const metrics = (await get(a.healthPort, '/metrics')).body;
    expect(metrics).toContain('borealis_agent_connected 1');
    expect(metrics).toMatch(/borealis_agent_heartbeat_rtt_seconds \d/);
    expect(metrics).toMatch(/borealis_agent_bytes_received_total [1-9]/);
    expect((await get(a.healthPort, '/nope')).status).toBe(404);
  });

  it('dials through an HTTP CONNECT proxy when HTTP_PROXY is set', async () => {
    const cp = await controlPlane();
    const proxy = await connectProxy();
    const a = await agent(cp, { httpProxy: `http://127.0.0.1:${proxy.port}` });
    await a.ready;
    expect(proxy.connects).toEqual([`127.0.0.1:${cp.port}`]);
    const t = await target();
    const session = await cp.waitForSessions(1);
    const res = await session.request({ url: `${t.origin}/via-proxy` });
    expect(res.status).toBe(200);
    await readAll(res.body);
  });

  it('runs wss end to end through an HTTPS_PROXY CONNECT tunnel, checking the certificate', async () => {
    const fixtures = new URL('../test/fixtures/', import.meta.url);
    const tls = {
      key: readFileSync(new URL('localhost-key.pem', fixtures)),
      cert: readFileSync(new URL('localhost-cert.pem', fixtures)),
    };
    const cp = await controlPlane({ tls });
    expect(cp.url.startsWith('https://')).toBe(true);
    const proxy = await connectProxy();
    const a = await agent(cp, { httpsProxy: `http://127.0.0.1:${proxy.port}`, ca: tls.cert });
    await a.ready;
    expect(proxy.connects).toEqual([`127.0.0.1:${cp.port}`]);

    // Without the CA the certificate check fails, and the agent says why.
    const untrusted = await agent(cp, { httpsProxy: `http://127.0.0.1:${proxy.port}` });
    await until(
      () => untrusted.status().attempts >= 1 && untrusted.status().lastError !== 'not connected yet',
    );
    expect(untrusted.status().connected).toBe(false);
    expect(untrusted.status().lastError).toMatch(/self[- ]signed/i);
  });

  it('NO_PROXY bypasses the proxy', async () => {
    const cp = await controlPlane();
    const proxy = await connectProxy();
    const a = await agent(cp, {
      httpProxy: `http://127.0.0.1:${proxy.port}`,
      noProxy: 'localhost,127.0.0.1',
    });
    await a.ready;
    expect(proxy.connects).toEqual([]);
  });
});

describe('a hostile control plane', () => {
  async function connected(options: Partial<AgentOptions> = {}) {
    const cp = await controlPlane();
    const a = await agent(cp, options);
    await a.ready;
    return { a, session: await cp.waitForSessions(1) };
  }

  it('cannot reach cloud metadata under "*"', async () => {
    const { session } = await connected({ allow: '*' });
    await expect(session.request({ url: 'http://169.254.169.254/latest/meta-data/' })).rejects.toMatchObject({
      code: 'BRL_STREAM_DESTINATION_REFUSED',
    });
    await expect(session.request({ url: 'http://[::ffff:a9fe:a9fe]/' })).rejects.toMatchObject({
      code: 'BRL_STREAM_DESTINATION_REFUSED',
    });
  });

  it('cannot use other schemes', async () => {
    const { session } = await connected({ allow: '*' });
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:25/', '/relative']) {
      await expect(session.request({ url })).rejects.toMatchObject({ code: 'BRL_STREAM_BAD_REQUEST' });
    }
  });

  it('cannot smuggle a request with a CR/LF in a header value', async () => {
    const t = await target();
    const { a, session } = await connected();
    // The protocol decoder already rejects such a frame (closing the connection as malformed);
    // either way nothing may reach the destination.
    const err = await session
      .request({ url: `${t.origin}/`, headers: [['x-evil', 'a\r\nGET /smuggled HTTP/1.1']] })
      .catch((e: unknown) => e);
    expect(['BRL_STREAM_BAD_REQUEST', 'BRL_STREAM_DISCONNECTED']).toContain((err as { code?: string }).code);
    expect(t.requests).toHaveLength(0);
    // The agent reconnects after the control plane's malformed frame.
    await until(() => a.status().connections === 2);
  });

  it('cannot point a Host header at another virtual host than the URL names', async () => {
    const t = await target();
    const { session } = await connected();
    const res = await session.request({ url: `${t.origin}/`, headers: [['host', 'admin.internal']] });
    await readAll(res.body);
    expect(t.requests[0]?.headers.host).toBe(`127.0.0.1:${t.port}`);
  });
});

async function connectProxy(): Promise<{ port: number; connects: string[] }> {
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  const proxy = createServer();
  proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    connects.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await listenClosingSockets(proxy, sockets);
  return { port: (proxy.address() as AddressInfo).port, connects };
}
