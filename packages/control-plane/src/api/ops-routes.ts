import type { FastifyInstance } from 'fastify';
import { Gauge, Registry } from 'prom-client';
import type { RelayHub } from '../relay/index.js';
import type { Store } from '../store/index.js';

/** Liveness, readiness and Prometheus metrics. */
export function registerOpsRoutes(app: FastifyInstance, deps: { store: Store; hub: RelayHub }): void {
  const registry = new Registry();
  new Gauge({
    name: 'borealis_agent_connections',
    help: 'Agent connections on this replica',
    registers: [registry],
    collect() {
      this.set(deps.hub.connectionCount);
    },
  });
  new Gauge({
    name: 'borealis_relay_streams_in_flight',
    help: 'Dispatches in flight through agents on this replica',
    registers: [registry],
    collect() {
      this.set(deps.hub.streamsInFlight);
    },
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ready', database: deps.store.kind };
    } catch (err) {
      return reply
        .status(503)
        .send({ status: 'not ready', database: deps.store.kind, reason: (err as Error).message });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}
