import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Cluster } from '../cluster/index.js';
import type { DrainSignal } from '../drain.js';
import type { RelayHub } from '../relay/index.js';
import type { Store } from '../store/index.js';
import { routeSchema } from './route-schema.js';

/** Liveness, readiness and Prometheus metrics. */
export function registerOpsRoutes(
  app: FastifyInstance,
  deps: { store: Store; hub: RelayHub; cluster?: Cluster; drain?: DrainSignal; registry: Registry },
): void {
  app.get('/healthz', { schema: routeSchema('operations', 'Liveness') }, async () => ({ status: 'ok' }));
  // Ready means every dependency answers; when one does not, the answer names it and says why
  // (the replica keeps retrying it and becomes ready again by itself).
  app.get(
    '/readyz',
    { schema: routeSchema('operations', 'Readiness: 503 naming the failing dependency') },
    async (_req, reply) => {
      const failing: Array<{ dependency: string; reason: string }> = [];
      if (deps.drain?.draining)
        failing.push({ dependency: 'shutdown', reason: 'this replica is shutting down' });
      try {
        await deps.store.ping();
      } catch (err) {
        failing.push({ dependency: deps.store.kind, reason: (err as Error).message });
      }
      const bus = deps.cluster?.health();
      if (bus && !bus.ok) failing.push({ dependency: bus.kind, reason: bus.reason ?? 'unavailable' });
      const body = {
        status: failing.length === 0 ? 'ready' : 'not ready',
        database: deps.store.kind,
        ...(bus ? { bus: bus.kind, replicaId: deps.cluster?.replicaId } : {}),
        ...(failing.length > 0
          ? { reason: failing.map((f) => `${f.dependency}: ${f.reason}`).join('; '), failing }
          : {}),
      };
      return failing.length === 0 ? body : reply.status(503).send(body);
    },
  );
  app.get('/metrics', { schema: routeSchema('operations', 'Prometheus metrics') }, async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
}
