import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { type RequestHead, subprotocolVersion, Tunnel, type TunnelResponse } from '@borealis/protocol';
import pino, { type Logger } from 'pino';
import { afterEach } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { until } from '../../../test/kit/until.js';
import { type RunningAgent, startAgent } from './agent.js';
import type { AgentOptions } from './agent-options.js';

/**
 * A control plane for tests: a real `ws` server on loopback that speaks the protocol with the
 * protocol package's requester Tunnel, exactly as the real relay does. It can refuse upgrades.
 */
export interface Session {
  ws: WebSocket;
  tunnel: Tunnel;
  upgrade: IncomingMessage;
  peerDraining: boolean;
  closed: Promise<{ code: number; reason: string }>;
  request(head: Partial<RequestHead> & { url: string }, body?: Buffer | string): Promise<TunnelResponse>;
}

export interface Refusal {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface ControlPlaneDouble {
  port: number;
  url: string;
  upgrades: IncomingMessage[];
  sessions: Session[];
  waitForSessions(n: number, ms?: number): Promise<Session>;
  close(): Promise<void>;
}

export async function startControlPlane(
  options: {
    port?: number;
    heartbeatMs?: number;
    refuse?: (req: IncomingMessage) => Refusal | undefined;
    /**
     * The protocol version to pick among the agent's offers (default: the first offered, v1, as
     * a plain ws server does).
     */
    version?: 1 | 2 | 3;
  } = {},
): Promise<ControlPlaneDouble> {
  const upgrades: IncomingMessage[] = [];
  const sessions: Session[] = [];
  const sockets = new Set<Socket>();
  const version = options.version;
  const wss = new WebSocketServer({
    noServer: true,
    ...(version === undefined
      ? {}
      : {
          handleProtocols: (offered: Set<string>) =>
            [...offered].find((p) => subprotocolVersion(p) === version) ?? false,
        }),
  });
  const notFound = (_req: IncomingMessage, res: import('node:http').ServerResponse) => {
    res.writeHead(404).end();
  };
  const server: Server = options.tls ? createTlsServer(options.tls, notFound) : createServer(notFound);
  server.on(options.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => {
    upgrades.push(req);
    const refusal = options.refuse?.(req);
    if (refusal) {
      const headers = { 'content-type': 'application/json', ...refusal.headers };
      socket.end(
        `HTTP/1.1 ${refusal.status} Refused\r\n${Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join(
            '',
          )}content-length: ${Buffer.byteLength(refusal.body)}\r\nconnection: close\r\n\r\n${refusal.body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      let resolveClosed!: (v: { code: number; reason: string }) => void;
      const closed = new Promise<{ code: number; reason: string }>((r) => {
        resolveClosed = r;
      });
      const session: Session = {
        ws,
        upgrade: req,
        peerDraining: false,
        closed,
        tunnel: new Tunnel({
          role: 'requester',
          version: subprotocolVersion(ws.protocol),
          sink: {
            send: (bytes, done) => ws.send(bytes, { binary: true }, done),
            close: (code, reason) => ws.close(code, reason),
          },
          heartbeatIntervalMs: options.heartbeatMs ?? 1000,
          onPeerDraining: () => {
            session.peerDraining = true;
          },
        }),
        request: (head, body) =>
          session.tunnel.request({ method: 'GET', headers: [], timeoutMs: 0, ...head }, body ?? null),
      };
      ws.on('message', (data: Buffer) => session.tunnel.receive(data));
      ws.on('close', (code, reason) => {
        session.tunnel.transportClosed(code, reason.toString());
        resolveClosed({ code, reason: reason.toString() });
      });
      session.tunnel.welcome(options.heartbeatMs ?? 1000);
      sessions.push(session);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    upgrades,
    sessions,
    async waitForSessions(n, ms = 10_000) {
      await until(() => sessions.length >= n, ms);
      return sessions[n - 1]!;
    },
    async close() {
      for (const s of sessions) s.ws.terminate();
      for (const s of sockets) s.destroy();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export { until };

/** A pino logger that keeps its lines in memory for assertions. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/**
 * What the agent tests set up per test: `cleanup(fn)` runs after each test (newest first), a
 * control plane double, and a real agent with `defaults` (then `options`) that logs to `lines`.
 */
export function agentBench(defaults: Partial<AgentOptions> = {}) {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    cleanup(fn: () => unknown): void {
      cleanups.push(fn);
    },
    /** Runs the newest cleanup now (and not again after the test). */
    async runLastCleanup(): Promise<void> {
      await cleanups.pop()?.();
    },
    async controlPlane(options: Parameters<typeof startControlPlane>[0] = {}): Promise<ControlPlaneDouble> {
      const cp = await startControlPlane(options);
      cleanups.push(() => cp.close());
      return cp;
    },
    async agent(
      cp: { url: string },
      options: Partial<AgentOptions> = {},
    ): Promise<RunningAgent & { lines: Array<Record<string, unknown>> }> {
      const { logger, lines } = captureLogger();
      const a = await startAgent({
        controlPlaneUrl: cp.url,
        clientSecret: 's3cret',
        healthPort: 0,
        logger,
        ...defaults,
        ...options,
      } as AgentOptions);
      cleanups.push(() => a.stop());
      return Object.assign(a, { lines });
    },
  };
}
