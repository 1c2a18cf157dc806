import type { FastifyInstance } from 'fastify';
import { routeSchema, stringQuery } from '../api/route-schema.js';
import { type AuditLog, parseAuditQuery } from './audit-log.js';

/** `GET /api/v1/audit?deploymentId=&actor=&since=&limit=`: who did what, when, why, from where. */
export function registerAuditRoutes(app: FastifyInstance, deps: { audit: AuditLog }): void {
  app.get(
    '/api/v1/audit',
    {
      config: { permission: 'read' },
      schema: routeSchema('audit', 'Who did what, when, why and from where', {
        querystring: stringQuery({ deploymentId: '', actor: '', since: '', limit: '' }),
      }),
    },
    async (req) => ({
      entries: await deps.audit.list(parseAuditQuery(req.query)),
    }),
  );
}
