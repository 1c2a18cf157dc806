import type { AuditEntryView } from '@borealis/deploy-spec';
import type { FastifyRequest } from 'fastify';
import { BorealisError } from '../errors.js';
import type { AuditLogRepository, AuditRow } from '../store/index.js';

export type { AuditEntryView } from '@borealis/deploy-spec';

/** What a module records about one change; who, when and from where come from the request. */
export interface AuditRecord {
  /** What was done, `<thing>.<verb>` for admin changes (e.g. `token.create`, `secret.delete`). */
  action: string;
  deploymentId?: string;
  environment?: string;
  /** Why, in the person's words. */
  reason?: string;
  /** Names and ids that say what changed. NEVER a secret value, token or client secret. */
  details?: Record<string, unknown>;
}

export interface AuditFilter {
  deploymentId?: string;
  actor?: string;
  /** Milliseconds since the epoch: entries at or after it. */
  since?: number;
  limit?: number;
}

export interface AuditLog {
  /**
   * Records a change made by the caller of `req`: the token's name and id, the time, the source
   * address (X-Forwarded-For only when it came through BOREALIS_TRUSTED_PROXIES). Await it
   * before answering, so a change is never reported done without its entry.
   */
  record(req: FastifyRequest, entry: AuditRecord): Promise<void>;
  /** Newest first. */
  list(filter: AuditFilter): Promise<AuditEntryView[]>;
}

/** Who made a request, as the audit log and the engine's decisions record it. */
export function actorOf(req: FastifyRequest): { who: string; tokenId: string | null; source: string } {
  return {
    who: req.identity?.name ?? 'anonymous',
    tokenId: req.identity?.id ?? null,
    source: req.ip,
  };
}

export const MAX_AUDIT_PAGE = 1000;

export function createAuditLog(rows: AuditLogRepository): AuditLog {
  return {
    async record(req, entry) {
      const { who, tokenId, source } = actorOf(req);
      await rows.insert({
        who,
        tokenId,
        source,
        at: Date.now(),
        action: entry.action,
        ...(entry.deploymentId ? { deploymentId: entry.deploymentId } : {}),
        ...(entry.environment ? { environment: entry.environment } : {}),
        ...(entry.reason ? { reason: entry.reason } : {}),
        ...(entry.details ? { details: entry.details } : {}),
      });
    },

    async list(filter) {
      const found = await rows.list({
        ...(filter.deploymentId !== undefined ? { deploymentId: filter.deploymentId } : {}),
        ...(filter.actor !== undefined ? { who: filter.actor } : {}),
        ...(filter.since !== undefined ? { since: filter.since } : {}),
        limit: Math.min(filter.limit ?? 100, MAX_AUDIT_PAGE),
      });
      return found.map(auditView);
    },
  };
}

export function auditView(row: AuditRow): AuditEntryView {
  let details: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(row.details) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      details = parsed as Record<string, unknown>;
  } catch {
    // An unreadable details column loses its details, not the entry.
  }
  return {
    id: row.id,
    at: new Date(Number(row.at)).toISOString(),
    actor: row.who,
    tokenId: row.token_id,
    action: row.action,
    deploymentId: row.deployment_id,
    environment: row.environment,
    reason: row.reason,
    source: row.source,
    details,
  };
}

/** Reads `GET /api/v1/audit`'s query, refusing what it does not understand with how to fix it. */
export function parseAuditQuery(query: unknown, now = Date.now()): AuditFilter {
  const q = (query ?? {}) as Record<string, unknown>;
  const known = ['deploymentId', 'actor', 'since', 'limit'];
  const unknown = Object.keys(q).filter((k) => !known.includes(k));
  if (unknown.length) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `Unknown query parameter(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}; filter with ${known.join(', ')}`,
    );
  }
  const one = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '' || v.length > 200)
      throw new BorealisError('BRL_ERR_BAD_REQUEST', `${name} must be given once, as 1 to 200 characters`, {
        details: { field: name },
      });
    return v;
  };
  const filter: AuditFilter = {};
  const deploymentId = one('deploymentId');
  if (deploymentId !== undefined) filter.deploymentId = deploymentId;
  const actor = one('actor');
  if (actor !== undefined) filter.actor = actor;
  const since = one('since');
  if (since !== undefined) filter.since = parseSince(since, now);
  const limit = one('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > MAX_AUDIT_PAGE)
      throw new BorealisError(
        'BRL_ERR_BAD_REQUEST',
        `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}`,
        { details: { field: 'limit' } },
      );
    filter.limit = n;
  }
  return filter;
}

const RELATIVE = /^(\d{1,9})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** ISO 8601 with a date and a zone, e.g. 2026-12-02T09:00:00Z. */
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `since`: an ISO 8601 time (`2026-12-02T09:00:00Z`, or a date) or a span back from now (`30m`, `24h`, `7d`). */
export function parseSince(value: string, now = Date.now()): number {
  const rel = RELATIVE.exec(value);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
  const t = ISO.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `since ${JSON.stringify(value.slice(0, 60))} is not a time: give an ISO 8601 time with its zone (2026-12-02T09:00:00Z), a date (2026-12-02), or a span back from now (30m, 24h, 7d)`,
      { details: { field: 'since' } },
    );
  }
  return t;
}
