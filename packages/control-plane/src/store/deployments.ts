import { randomUUID } from 'node:crypto';
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type {
  AuditLogTable,
  DeploymentEnvironmentsTable,
  DeploymentEventsTable,
  DeploymentsTable,
} from './deployment-tables.js';
import type { Database } from './schema.js';

export type DeploymentRow = Selectable<DeploymentsTable>;
export type DeploymentEnvironmentRow = Selectable<DeploymentEnvironmentsTable>;
export type DeploymentEventRow = Selectable<DeploymentEventsTable>;

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

export type AuditRow = Selectable<AuditLogTable>;

export interface TransitionWrite {
  id: string;
  /** The version read; the write fails (returns false) if someone else wrote since. */
  expectedVersion: number;
  /** Only the lease owner may write. */
  owner: string;
  patch: Omit<Updateable<DeploymentsTable>, 'id' | 'version'>;
  environments: Array<Insertable<DeploymentEnvironmentsTable>>;
  events: Array<Insertable<DeploymentEventsTable>>;
  audit?: AuditEntry;
}

/** Statuses that are over; everything else is driven by some replica. */
const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK'];

/**
 * Deployments, their environments, their event log and the audit log. Every engine transition is
 * one `writeTransition` call: the deployment row (optimistic version + lease check), the changed
 * environment rows and the new events, atomically.
 */
export function createDeploymentRepository(db: Kysely<Database>) {
  return {
    async insert(
      row: Insertable<DeploymentsTable>,
      environments: Array<Insertable<DeploymentEnvironmentsTable>>,
      events: Array<Insertable<DeploymentEventsTable>>,
    ): Promise<void> {
      await db.insertInto('deployments').values(row).execute();
      if (environments.length) await db.insertInto('deployment_environments').values(environments).execute();
      if (events.length) await db.insertInto('deployment_events').values(events).execute();
    },

    async active(application: string): Promise<DeploymentRow | undefined> {
      return db
        .selectFrom('deployments')
        .selectAll()
        .where('active_application', '=', application)
        .executeTakeFirst();
    },

    async queued(application: string): Promise<DeploymentRow | undefined> {
      return db
        .selectFrom('deployments')
        .selectAll()
        .where('application', '=', application)
        .where('status', '=', 'QUEUED')
        .orderBy('created_at')
        .executeTakeFirst();
    },

    /**
     * With `enqueueOne`: starts the queued deployment `queued` read, leased to `owner`, if nobody
     * changed it since. False when it moved meanwhile; throws a unique violation when another
     * deployment of the application took it first.
     */
    async promoteQueued(
      queued: DeploymentRow,
      owner: string,
      now: number,
      leaseUntil: number,
    ): Promise<boolean> {
      const r = await db
        .updateTable('deployments')
        .set({
          status: 'RUNNING',
          active_application: queued.application,
          lease_owner: owner,
          lease_expires_at: leaseUntil,
          updated_at: now,
          version: queued.version + 1,
        })
        .where('id', '=', queued.id)
        .where('version', '=', queued.version)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },

    /** A person cancelled a deployment while it waited in the queue (nothing if it left it). */
    async cancelQueued(id: string, now: number, message: string): Promise<void> {
      await db
        .updateTable('deployments')
        .set({ status: 'CANCELLED', finished_at: now, message })
        .where('id', '=', id)
        .where('status', '=', 'QUEUED')
        .execute();
    },

    /** `enqueueOne` keeps only the newest queued deployment: the older one ends cancelled. */
    async supersedeQueued(id: string, now: number, message: string): Promise<void> {
      await db
        .updateTable('deployments')
        .set({ status: 'CANCELLED', finished_at: now, message })
        .where('id', '=', id)
        .execute();
    },

    async get(
      id: string,
    ): Promise<{ row: DeploymentRow; environments: DeploymentEnvironmentRow[] } | undefined> {
      const row = await db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const environments = await db
        .selectFrom('deployment_environments')
        .selectAll()
        .where('deployment_id', '=', id)
        .execute();
      return { row, environments };
    },

    async list(filter: {
      application?: string;
      limit: number;
      statuses?: readonly string[];
      /** Created at or after (epoch ms). */
      since?: number;
      /** Ids starting with this (hex digits and `-` only: checked by the caller). */
      idPrefix?: string;
    }): Promise<DeploymentRow[]> {
      let q = db.selectFrom('deployments').selectAll().orderBy('created_at', 'desc').limit(filter.limit);
      if (filter.application) q = q.where('application', '=', filter.application);
      if (filter.statuses?.length) q = q.where('status', 'in', [...filter.statuses]);
      if (filter.since !== undefined) q = q.where('created_at', '>=', filter.since);
      if (filter.idPrefix) q = q.where('id', 'like', `${filter.idPrefix}%`);
      return q.execute();
    },

    /** Each environment's status, for the deployments listed (one query, not one per deployment). */
    async environmentStatuses(
      ids: readonly string[],
    ): Promise<Array<{ deployment_id: string; name: string; status: string }>> {
      if (ids.length === 0) return [];
      return db
        .selectFrom('deployment_environments')
        .select(['deployment_id', 'name', 'status'])
        .where('deployment_id', 'in', [...ids])
        .execute();
    },

    /** Ids of deployments still to drive (not queued, not over). */
    async unfinishedIds(): Promise<string[]> {
      const rows = await db
        .selectFrom('deployments')
        .select('id')
        .where('status', 'not in', [...FINAL, 'QUEUED'])
        .orderBy('created_at')
        .execute();
      return rows.map((r) => r.id);
    },

    /** Unfinished deployments nobody drives: no lease, or one that expired (its replica died). */
    async orphanedIds(now: number): Promise<string[]> {
      const rows = await db
        .selectFrom('deployments')
        .select('id')
        .where('status', 'not in', [...FINAL, 'QUEUED'])
        .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', now)]))
        .orderBy('created_at')
        .limit(1000)
        .execute();
      return rows.map((r) => r.id);
    },

    /** Takes the lease of a deployment if it is free, expired, or already ours. */
    async claim(id: string, owner: string, now: number, until: number): Promise<boolean> {
      const r = await db
        .updateTable('deployments')
        .set({ lease_owner: owner, lease_expires_at: until })
        .where('id', '=', id)
        .where((eb) =>
          eb.or([
            eb('lease_owner', 'is', null),
            eb('lease_owner', '=', owner),
            eb('lease_expires_at', '<', now),
          ]),
        )
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },

    async renewLeases(owner: string, until: number): Promise<void> {
      await db
        .updateTable('deployments')
        .set({ lease_expires_at: until })
        .where('lease_owner', '=', owner)
        .where('status', 'not in', FINAL)
        .execute();
    },

    async releaseLeases(owner: string): Promise<void> {
      await db
        .updateTable('deployments')
        .set({ lease_owner: null, lease_expires_at: null })
        .where('lease_owner', '=', owner)
        .execute();
    },

    async writeTransition(w: TransitionWrite): Promise<boolean> {
      const r = await db
        .updateTable('deployments')
        .set({ ...w.patch, version: w.expectedVersion + 1 })
        .where('id', '=', w.id)
        .where('version', '=', w.expectedVersion)
        .where('lease_owner', '=', w.owner)
        .executeTakeFirst();
      if (r.numUpdatedRows === 0n) return false;
      for (const env of w.environments) {
        await db
          .updateTable('deployment_environments')
          .set({
            status: env.status,
            phase: env.phase,
            state: env.state,
            message: env.message ?? null,
            started_at: env.started_at ?? null,
            finished_at: env.finished_at ?? null,
          })
          .where('deployment_id', '=', env.deployment_id)
          .where('name', '=', env.name)
          .execute();
      }
      if (w.events.length) await db.insertInto('deployment_events').values(w.events).execute();
      if (w.audit) await insertAudit(db, w.audit);
      return true;
    },

    async events(id: string, afterSeq: number, limit = 1000): Promise<DeploymentEventRow[]> {
      return db
        .selectFrom('deployment_events')
        .selectAll()
        .where('deployment_id', '=', id)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
    },

    async lastSeq(id: string): Promise<number> {
      const r = await db
        .selectFrom('deployment_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('deployment_id', '=', id)
        .executeTakeFirst();
      return Number(r?.seq ?? 0);
    },

    insertAudit: (entry: AuditEntry) => insertAudit(db, entry),

    async audit(deploymentId: string): Promise<AuditRow[]> {
      return db
        .selectFrom('audit_log')
        .selectAll()
        .where('deployment_id', '=', deploymentId)
        .orderBy('at')
        .orderBy('id')
        .limit(1000)
        .execute();
    },
  };
}

export type DeploymentRepository = ReturnType<typeof createDeploymentRepository>;

export async function insertAudit(db: Kysely<Database>, e: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
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
    })
    .execute();
}
