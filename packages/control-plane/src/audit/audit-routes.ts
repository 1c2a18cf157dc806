import type { FastifyInstance } from 'fastify';
import { type AuditLog, parseAuditQuery } from './audit-log.js';

/** `GET /api/v1/audit?deploymentId=&actor=&since=&limit=`: who did what, when, why, from where. */
export function registerAuditRoutes(app: FastifyInstance, deps: { audit: AuditLog }): void {
  app.get('/api/v1/audit', { config: { permission: 'read' } }, async (req) => ({
    entries: await deps.audit.list(parseAuditQuery(req.query)),
  }));
}
