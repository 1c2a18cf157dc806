/**
 * The audit trail: every decision on a deployment (start, approve, reject, roll back, roll
 * forward, cancel) and every admin change, with who (the token's name and id), when, what,
 * environment, reason and the source address. `GET /api/v1/audit` reads it; each deployment's
 * status view lists its own entries.
 *
 * Modules that add admin routes record their changes with the `AuditLog` the server gives them
 * (`deps.audit`), after the change succeeded and before answering:
 *
 *     await deps.audit.record(req, { action: 'metric-provider.put', details: { name } });
 *
 * `action` is `<thing>.<verb>`; `details` holds names and ids, NEVER a secret value, token or
 * client secret. Deployment decisions are written by the engine in the same transaction as
 * the transition they cause.
 */
export {
  type AuditEntryView,
  type AuditFilter,
  type AuditLog,
  type AuditRecord,
  actorOf,
  auditView,
  createAuditLog,
  parseAuditQuery,
  parseSince,
} from './audit-log.js';
export { registerAuditRoutes } from './audit-routes.js';
