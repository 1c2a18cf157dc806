import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ProtocolError } from '@borealis/protocol';
import { describe, expect, it } from 'vitest';
import { agentBench, readAll, until } from './control-plane-double.test-util.js';

// The agent's own undici handler (call-handler.ts): small answers gathered whole, others
// streamed; informational answers skipped; cancel and timeouts in the middle of either body.

const bench = agentBench({
  identifier: 'test-agent',
  clientId: 'client',
  allow: '127.0.0.1',
  reconnectBase: '20ms',
  reconnectMax: '200ms',
});

/** A real HTTP server on loopback; `callClosed`: the connection of the last call went away. */
async function target(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const sockets = new Set<Socket>();
  const t = { origin: '', callClosed: false };
  const server: Server = createServer((req, res) => {
    t.callClosed = false;
    req.socket.once('close', () => {
      t.callClosed = true;
    });
    req.resume();
    req.on('end', () => handler(req, res));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  bench.cleanup(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return t;
}

/** A control plane double that speaks v3 (small answers in one REPLY), and the agent on it. */
async function connected() {
  const cp = await bench.controlPlane({ version: 3 });
  const a = await bench.agent(cp);
  await a.ready;
  return { session: await cp.waitForSessions(1), a };
}

describe('the agent calling a destination', () => {
  it('relays the final answer after an informational one, whole in one REPLY', async () => {
    const t = await target((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.writeHead(201, { 'content-type': 'text/plain', 'x-kind': 'final' });
      res.end('created');
    });
    const { session } = await connected();
    const res = await session.request({ method: 'POST', url: `${t.origin}/things` }, 'x');
    expect(res.status).toBe(201);
    expect(res.headers).toContainEqual(['x-kind', 'final']);
    expect(res.headers.map(([name]) => name)).not.toContain('link');
    expect(res.stream.takeWholeBody()?.toString()).toBe('created');
  });

  it('relays an answer of unknown length as a stream, with its repeated headers', async () => {
    const t = await target((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.write('one,');
      setTimeout(() => res.end('two'), 20);
    });
    const { session } = await connected();
    const res = await session.request({ url: `${t.origin}/chunked` });
    expect(res.headers.filter(([name]) => name === 'set-cookie')).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    expect(res.stream.takeWholeBody()).toBeUndefined();
    expect((await readAll(res.body)).toString()).toBe('one,two');
  });

  it('a call cancelled while a large answer streams ends the call to the destination', async () => {
    const t = await target((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 7);
      const timer = setInterval(() => res.write(chunk), 5);
      res.on('close', () => clearInterval(timer));
    });
    const { session, a } = await connected();
    const res = await session.request({ url: `${t.origin}/endless` });
    await new Promise<void>((resolve) => res.body.once('data', () => resolve()));
    res.stream.reset(new ProtocolError('BRL_STREAM_CANCELLED'));
    await until(() => t.callClosed);
    await until(() => a.status().streamsInFlight === 0);
  });

  it('a small answer whose body stops coming times out', async () => {
    const t = await target((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('half!');
    });
    const { session } = await connected();
    await expect(session.request({ url: `${t.origin}/stalls`, timeoutMs: 200 })).rejects.toMatchObject({
      code: 'BRL_STREAM_TIMEOUT',
    });
    await until(() => t.callClosed);
  });

  it('a small answer cancelled while its body is awaited ends the call to the destination', async () => {
    let halfSent = false;
    const t = await target((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('half!', () => {
        halfSent = true;
      });
    });
    const { session, a } = await connected();
    const controller = new AbortController();
    const pending = session.tunnel.request(
      { method: 'GET', url: `${t.origin}/stalls`, headers: [], timeoutMs: 0 },
      null,
      controller.signal,
    );
    pending.catch(() => {});
    await until(() => halfSent);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'BRL_STREAM_CANCELLED' });
    await until(() => t.callClosed);
    await until(() => a.status().streamsInFlight === 0);
  });
});
