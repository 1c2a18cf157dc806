import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { BorealisError } from '../errors.js';
import { type MetricProviderInput, type MetricsService, metricProviderBodySchema } from '../metrics/index.js';
import { routeSchema } from './route-schema.js';

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

/**
 * Metric providers, where `analysis` queries go: `PUT /api/v1/metric-providers/:name` (201 when
 * created, 200 when replaced), `GET /api/v1/metric-providers`, `GET`/`DELETE …/:name`, and
 * `POST …/:name/test` (one query now, through the agent when the provider uses one). Header
 * values are shown as written (`{{secrets.x}}`); secret values are never returned.
 */
export function registerMetricProviderRoutes(
  app: FastifyInstance,
  deps: { metrics: MetricsService; audit: AuditLog },
): void {
  const { metrics } = deps;
  app.put<{ Params: { name: string }; Body: MetricProviderInput }>(
    '/api/v1/metric-providers/:name',
    {
      config: { permission: 'admin' },
      schema: routeSchema('metric providers', 'Create or replace a metric provider', {
        params: nameParams,
        body: metricProviderBodySchema,
      }),
    },
    async (req, reply) => {
      const { created, provider, warnings } = await metrics.put(req.params.name, req.body);
      // Name and type only: a base URL may carry credentials, headers may name secrets.
      await deps.audit.record(req, {
        action: created ? 'metric-provider.create' : 'metric-provider.update',
        details: { name: req.params.name, type: req.body.type },
      });
      return reply
        .status(created ? 201 : 200)
        .send({ ...provider, ...(warnings.length ? { warnings } : {}) });
    },
  );

  app.get(
    '/api/v1/metric-providers',
    { config: { permission: 'read' }, schema: routeSchema('metric providers', 'Every metric provider') },
    async () => ({
      metricProviders: await metrics.list(),
    }),
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/metric-providers/:name',
    {
      config: { permission: 'read' },
      schema: routeSchema('metric providers', 'One metric provider', { params: nameParams }),
    },
    async (req) => metrics.get(req.params.name),
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/metric-providers/:name',
    {
      config: { permission: 'admin' },
      schema: routeSchema('metric providers', 'Delete a metric provider', { params: nameParams }),
    },
    async (req, reply) => {
      await metrics.delete(req.params.name);
      await deps.audit.record(req, { action: 'metric-provider.delete', details: { name: req.params.name } });
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { name: string }; Body: { query: string; time?: string; agentIdentifier?: string } }>(
    '/api/v1/metric-providers/:name/test',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['metric providers'],
        summary: 'One test query now, through the agent when the provider uses one',
        params: nameParams,
        body: {
          type: 'object',
          required: ['query'],
          additionalProperties: false,
          properties: {
            query: { type: 'string', minLength: 1, maxLength: 16384 },
            time: { type: 'string', format: 'date-time' },
            agentIdentifier: { type: 'string', minLength: 1, maxLength: 128 },
          },
        },
      },
    },
    async (req) => {
      const { query, time, agentIdentifier } = req.body;
      const atMs = time === undefined ? Date.now() : Date.parse(time);
      if (Number.isNaN(atMs))
        throw new BorealisError(
          'BRL_ERR_BAD_REQUEST',
          `time ${JSON.stringify(time)} is not a date-time; send ISO 8601, e.g. 2026-12-02T10:00:00Z`,
          { details: { field: 'time' } },
        );
      const result = await metrics.query(req.params.name, query, {
        atMs,
        ...(agentIdentifier ? { agentIdentifier } : {}),
      });
      return { ...result, query, time: new Date(atMs).toISOString() };
    },
  );
}
