import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { insertRows } from './compiled-shapes.js';

/** Who did what, when and why (migrations 0010, 0060). `details` is JSON text. */
export interface AuditLogTable {
  id: string;
  at: number;
  /** The API token's name. */
  who: string;
  action: string;
  deployment_id: string | null;
  environment: string | null;
  details: string;
  /** Why, as the person said it (`--reason`). */
  reason: string | null;
  /** The caller's address (X-Forwarded-For only from BOREALIS_TRUSTED_PROXIES). */
  source: string | null;
  /** Which token was used (names need not be unique). */
  token_id: string | null;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface AuditLogTables {
  audit_log: AuditLogTable;
}

export type AuditRow = Selectable<AuditLogTable>;

export interface AuditEntry {
  /** The token's name (`borealis` for what the control plane decides itself). */
  who: string;
  action: string;
  deploymentId?: string;
  environment?: string;
  details?: Record<string, unknown>;
  at: number;
  /** Why, in the person's words. */
  reason?: string;
  /** The caller's address. */
  source?: string;
  /** The token's id (null for BOREALIS_API_TOKEN). */
  tokenId?: string | null;
}

export interface AuditLogRepository {
  insert(entry: AuditEntry): Promise<void>;
  /** Newest first, at most `limit` entries. */
  list(filter: { deploymentId?: string; who?: string; since?: number; limit: number }): Promise<AuditRow[]>;
  /** One deployment's entries, oldest first (at most 1000). */
  forDeployment(deploymentId: string): Promise<AuditRow[]>;
}

export function createAuditLogRepository(db: Kysely<AuditLogTables>): AuditLogRepository {
  return {
    insert: (entry) => insertAudit(db, entry),
    async list(filter) {
      let q = db.selectFrom('audit_log').selectAll();
      if (filter.deploymentId !== undefined) q = q.where('deployment_id', '=', filter.deploymentId);
      if (filter.who !== undefined) q = q.where('who', '=', filter.who);
      if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
      return q.orderBy('at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
    },
    forDeployment: (deploymentId) =>
      db
        .selectFrom('audit_log')
        .selectAll()
        .where('deployment_id', '=', deploymentId)
        .orderBy('at')
        .orderBy('id')
        .limit(1000)
        .execute(),
  };
}

/** For repositories that write an entry in the same statement batch (a deployment transition). */
export async function insertAudit(db: Kysely<AuditLogTables>, e: AuditEntry): Promise<void> {
  await insertRows(db, 'audit_log', [
    {
      id: randomUUID(),
      at: e.at,
      who: e.who,
      action: e.action,
      deployment_id: e.deploymentId ?? null,
      environment: e.environment ?? null,
      details: JSON.stringify(e.details ?? {}),
      reason: e.reason ?? null,
      source: e.source ?? null,
      token_id: e.tokenId ?? null,
    },
  ]);
}
