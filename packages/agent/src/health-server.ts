import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AgentError } from './errors.js';
import type { AgentMetrics } from './metrics.js';

/**
 * Liveness, readiness and metrics on their own port, apart from anything the control plane can
 * reach: `/healthz` answers while the process runs, `/readyz` only while the tunnel is up.
 */
export interface HealthServerOptions {
  host: string;
  port: number;
  metrics: AgentMetrics;
  logger: Logger;
  readiness: () => { ready: boolean; sessionId: string | null; lastError: string | null };
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: 'use GET' } }));
      return;
    }
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    switch (path) {
      case '/healthz':
        json(200, { status: 'ok' });
        return;
      case '/readyz': {
        const r = options.readiness();
        if (r.ready) json(200, { status: 'ready', sessionId: r.sessionId });
        else json(503, { status: 'not ready', error: r.lastError });
        return;
      }
      case '/metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(options.metrics.render());
        return;
      default:
        json(404, { error: { code: 'NOT_FOUND', message: 'try /healthz, /readyz or /metrics' } });
    }
  });
  // Probes are short; an idle keep-alive connection must not hold up shutdown.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new AgentError(
          'BRL_ERR_AGENT_HEALTH_LISTEN',
          `The health server could not listen on ${options.host}:${options.port} (${(err as Error).message}); set BOREALIS_AGENT_HEALTH_PORT to a free port, or 0 for any`,
          { cause: err },
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ host: options.host, port }, 'listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
