import { FINAL_STATUSES } from '@borealis/deploy-spec';
import type { ExpressionBuilder, Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { AuditEntry, AuditLogRepository, AuditLogTables, AuditRow } from './audit-log.js';
import { insertRows, runShape, updateWhere } from './compiled-shapes.js';

/** Row shapes of the deployment engine's tables (migration 0010). JSON columns are text. */

export interface DeploymentsTable {
  id: string;
  application: string;
  /** QUEUED, RUNNING, PAUSED, AWAITING_APPROVAL, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK. */
  status: string;
  /** The application while this deployment runs, else NULL; unique, so one runs at a time. */
  active_application: string | null;
  /** The validated DeploymentSpec as JSON. */
  spec: string;
  /** Start-time context (`--context k=v`) as JSON. */
  context: string;
  /** Deployment-level engine state (cancellation requests and the like) as JSON. */
  state: string;
  message: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** Earliest stored deadline (pause end, approval expiry, rollout timeout), for the scheduler. */
  wake_at: number | null;
  /**
   * Which control-plane replica drives this deployment, and until when unless renewed: the lease
   * holds while this or the owner's `replica_leases.expires_at` has not passed (see `leaseFree`).
   */
  lease_owner: string | null;
  lease_expires_at: number | null;
  /** Optimistic concurrency: every transition bumps it and requires the value it read. */
  version: number;
}

export interface DeploymentEnvironmentsTable {
  deployment_id: string;
  name: string;
  status: string;
  phase: string;
  /** Per-item progress of this environment as JSON. */
  state: string;
  message: string | null;
  started_at: number | null;
  finished_at: number | null;
}

export interface DeploymentEventsTable {
  deployment_id: string;
  /** 1, 2, 3... per deployment: the SSE event id. */
  seq: number;
  at: number;
  type: string;
  environment: string | null;
  data: string;
}

/** A replica's lease (migration 0080): renewing it renews every deployment lease it holds. */
export interface ReplicaLeasesTable {
  owner: string;
  expires_at: number;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface DeploymentTables {
  deployments: DeploymentsTable;
  deployment_environments: DeploymentEnvironmentsTable;
  deployment_events: DeploymentEventsTable;
  replica_leases: ReplicaLeasesTable;
}

/** The history's queries read the deployments' tables and the audit log together. */
export interface DeploymentAndAuditTables extends DeploymentTables, AuditLogTables {}

export type DeploymentRow = Selectable<DeploymentsTable>;
export type DeploymentEnvironmentRow = Selectable<DeploymentEnvironmentsTable>;
export type DeploymentEventRow = Selectable<DeploymentEventsTable>;

/** The columns of a deployment row that driving it needs (not its lease, times or message). */
export type DrivenRow = Pick<
  DeploymentRow,
  'id' | 'application' | 'status' | 'spec' | 'context' | 'state' | 'created_by' | 'created_at' | 'version'
>;
/** The columns of an environment row that driving it needs. */
export type DrivenEnvironmentRow = Pick<DeploymentEnvironmentRow, 'name' | 'state'>;

/** A deployment as `DeploymentPageRepository.claimAndLoad` reads it. */
export interface ClaimedDeployment {
  row: DrivenRow;
  environments: DrivenEnvironmentRow[];
  lastSeq: number;
}

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

/**
 * Deployments, their environments and their event log. Every engine transition is one
 * `writeTransition` call: the deployment row (optimistic version + lease check), the changed
 * environment rows, the new events and the audit entry, atomically when run in a transaction.
 * A page of deployments at once (resuming many at start-up) is `deployment-pages.ts`'s.
 */
export interface DeploymentRepository {
  insert(
    row: Insertable<DeploymentsTable>,
    environments: Array<Insertable<DeploymentEnvironmentsTable>>,
    events: Array<Insertable<DeploymentEventsTable>>,
  ): Promise<void>;
  /** The deployment running for `application`, if any. */
  active(application: string): Promise<DeploymentRow | undefined>;
  /** The oldest queued deployment of `application`. */
  queued(application: string): Promise<DeploymentRow | undefined>;
  /**
   * With `enqueueOne`: starts the queued deployment `queued` read, leased to `owner`, if nobody
   * changed it since. False when it moved meanwhile; throws a unique violation when another
   * deployment of the application took it first.
   */
  promoteQueued(queued: DeploymentRow, owner: string, now: number, leaseUntil: number): Promise<boolean>;
  /** A person cancelled a deployment while it waited in the queue (nothing if it left it). */
  cancelQueued(id: string, now: number, message: string): Promise<void>;
  /** `enqueueOne` keeps only the newest queued deployment: the older one ends cancelled. */
  supersedeQueued(id: string, now: number, message: string): Promise<void>;
  get(id: string): Promise<{ row: DeploymentRow; environments: DeploymentEnvironmentRow[] } | undefined>;
  list(filter: {
    application?: string;
    limit: number;
    statuses?: readonly string[];
    /** Created at or after (epoch ms). */
    since?: number;
    /** Ids starting with this (hex digits and `-` only: checked by the caller). */
    idPrefix?: string;
  }): Promise<DeploymentRow[]>;
  /** Each environment's status, for the deployments listed (one query, not one per deployment). */
  environmentStatuses(
    ids: readonly string[],
  ): Promise<Array<{ deployment_id: string; name: string; status: string }>>;
  /** Ids of deployments still to drive (not queued, not over). */
  unfinishedIds(): Promise<string[]>;
  /** Unfinished deployments nobody drives: no lease, or one that lapsed (its replica died). */
  orphanedIds(now: number): Promise<string[]>;
  /** How many deployments not over there are, per status (statuses with none are absent). */
  unfinishedCounts(): Promise<Array<{ status: string; count: number }>>;
  /** Takes the lease of a deployment if it is free, lapsed, or already ours (`leaseFree`). */
  claim(id: string, owner: string, now: number, until: number): Promise<boolean>;
  /** Renews every deployment lease `owner` holds until `until`: its one `replica_leases` row. */
  renewLeases(owner: string, until: number): Promise<void>;
  /** Gives up every deployment lease `owner` holds, and its replica lease. */
  releaseLeases(owner: string): Promise<void>;
  /** False (nothing written) when the version or the lease owner is not the one expected. */
  writeTransition(w: TransitionWrite): Promise<boolean>;
  events(id: string, afterSeq: number, limit?: number): Promise<DeploymentEventRow[]>;
  lastSeq(id: string): Promise<number>;
  insertAudit(entry: AuditEntry): Promise<void>;
  /** The deployment's audit entries, oldest first. */
  audit(deploymentId: string): Promise<AuditRow[]>;
}

/** Statuses that are over (deploy-spec's list); everything else is driven by some replica. */
const FINAL = [...FINAL_STATUSES];

/** How long after it lapsed a dead replica's lease row is kept (it holds nothing by then). */
const STALE_REPLICA_LEASE_MS = 24 * 60 * 60 * 1000;

/**
 * A deployment's lease is free to take: nobody holds it, or (given) `owner` does, or it has
 * lapsed — its own expiry (set when it was claimed) has passed and so has its owner's replica
 * lease (`replica_leases`, renewed as one row: `renewLeases`). `claimAndLoadPg` spells the same
 * condition in SQL.
 */
export function leaseFree(
  eb: ExpressionBuilder<DeploymentTables, 'deployments'>,
  now: number,
  owner?: string,
) {
  // Cheapest first: the replica lease is looked up only for a row held by another replica.
  const free = [eb('deployments.lease_owner', 'is', null)];
  if (owner !== undefined) free.push(eb('deployments.lease_owner', '=', owner));
  free.push(
    eb.and([
      eb('deployments.lease_expires_at', '<', now),
      eb.not(
        eb.exists(
          eb
            .selectFrom('replica_leases')
            .select('replica_leases.owner')
            .whereRef('replica_leases.owner', '=', 'deployments.lease_owner')
            .where('replica_leases.expires_at', '>=', now),
        ),
      ),
    ]),
  );
  return eb.or(free);
}

/**
 * `auditLog` must be bound to the same database or transaction as `db`, so a transition and its
 * audit entry commit together (`repositories.ts` builds both on one).
 */
export function createDeploymentRepository(
  db: Kysely<DeploymentTables>,
  auditLog: AuditLogRepository,
): DeploymentRepository {
  return {
    // The start's and every transition's statements are compiled once per shape (compiled-shapes.ts).
    async insert(row, environments, events) {
      await insertRows(db, 'deployments', [row]);
      if (environments.length) await insertRows(db, 'deployment_environments', environments);
      if (events.length) await insertRows(db, 'deployment_events', events);
    },

    async active(application) {
      const { rows } = await runShape<DeploymentRow>(db, 'deployments.active', [application], ([a]) =>
        db
          .selectFrom('deployments')
          .selectAll()
          .where('active_application', '=', a as string),
      );
      return rows[0];
    },

    async queued(application) {
      return db
        .selectFrom('deployments')
        .selectAll()
        .where('application', '=', application)
        .where('status', '=', 'QUEUED')
        .orderBy('created_at')
        .executeTakeFirst();
    },

    async promoteQueued(queued, owner, now, leaseUntil) {
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

    async cancelQueued(id, now, message) {
      await db
        .updateTable('deployments')
        .set({ status: 'CANCELLED', finished_at: now, message })
        .where('id', '=', id)
        .where('status', '=', 'QUEUED')
        .execute();
    },

    async supersedeQueued(id, now, message) {
      await db
        .updateTable('deployments')
        .set({ status: 'CANCELLED', finished_at: now, message })
        .where('id', '=', id)
        .execute();
    },

    async get(id) {
      const row = await db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const environments = await db
        .selectFrom('deployment_environments')
        .selectAll()
        .where('deployment_id', '=', id)
        .execute();
      return { row, environments };
    },

    async list(filter) {
      let q = db.selectFrom('deployments').selectAll().orderBy('created_at', 'desc').limit(filter.limit);
      if (filter.application) q = q.where('application', '=', filter.application);
      if (filter.statuses?.length) q = q.where('status', 'in', [...filter.statuses]);
      if (filter.since !== undefined) q = q.where('created_at', '>=', filter.since);
      if (filter.idPrefix) q = q.where('id', 'like', `${filter.idPrefix}%`);
      return q.execute();
    },

    async environmentStatuses(ids) {
      if (ids.length === 0) return [];
      return db
        .selectFrom('deployment_environments')
        .select(['deployment_id', 'name', 'status'])
        .where('deployment_id', 'in', [...ids])
        .execute();
    },

    async unfinishedIds() {
      const rows = await db
        .selectFrom('deployments')
        .select('id')
        .where('status', 'not in', [...FINAL, 'QUEUED'])
        .orderBy('created_at')
        .execute();
      return rows.map((r) => r.id);
    },

    async orphanedIds(now) {
      const rows = await db
        .selectFrom('deployments')
        .select('id')
        .where('status', 'not in', [...FINAL, 'QUEUED'])
        .where((eb) => leaseFree(eb, now))
        .orderBy('created_at')
        .limit(1000)
        .execute();
      return rows.map((r) => r.id);
    },

    async unfinishedCounts() {
      const rows = await db
        .selectFrom('deployments')
        .select(['status', db.fn.countAll<number>().as('n')])
        .where('status', 'not in', FINAL)
        .groupBy('status')
        .execute();
      return rows.map((r) => ({ status: r.status, count: Number(r.n) }));
    },

    async claim(id, owner, now, until) {
      const r = await db
        .updateTable('deployments')
        .set({ lease_owner: owner, lease_expires_at: until })
        .where('id', '=', id)
        .where((eb) => leaseFree(eb, now, owner))
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },

    async renewLeases(owner, until) {
      // One row, however many deployments the replica drives (see `leaseFree`).
      await db
        .insertInto('replica_leases')
        .values({ owner, expires_at: until })
        .onConflict((oc) => oc.column('owner').doUpdateSet({ expires_at: until }))
        .execute();
      // Replicas that died without releasing (clustered ids are new at each start): a lapsed
      // replica lease holds nothing, so a day after it lapsed its row goes.
      await db
        .deleteFrom('replica_leases')
        .where('expires_at', '<', until - STALE_REPLICA_LEASE_MS)
        .execute();
    },

    async releaseLeases(owner) {
      await db
        .updateTable('deployments')
        .set({ lease_owner: null, lease_expires_at: null })
        .where('lease_owner', '=', owner)
        .execute();
      await db.deleteFrom('replica_leases').where('owner', '=', owner).execute();
    },

    async writeTransition(w) {
      const r = await updateWhere(db, 'deployments', { ...w.patch, version: w.expectedVersion + 1 }, [
        ['id', '=', w.id],
        ['version', '=', w.expectedVersion],
        ['lease_owner', '=', w.owner],
      ]);
      if (!r.numAffectedRows) return false;
      for (const env of w.environments) {
        await updateWhere(
          db,
          'deployment_environments',
          {
            status: env.status,
            phase: env.phase,
            state: env.state,
            message: env.message ?? null,
            started_at: env.started_at ?? null,
            finished_at: env.finished_at ?? null,
          },
          [
            ['deployment_id', '=', env.deployment_id],
            ['name', '=', env.name],
          ],
        );
      }
      if (w.events.length) await insertRows(db, 'deployment_events', w.events);
      if (w.audit) await auditLog.insert(w.audit);
      return true;
    },

    async events(id, afterSeq, limit = 1000) {
      return db
        .selectFrom('deployment_events')
        .selectAll()
        .where('deployment_id', '=', id)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
    },

    async lastSeq(id) {
      const r = await db
        .selectFrom('deployment_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('deployment_id', '=', id)
        .executeTakeFirst();
      return Number(r?.seq ?? 0);
    },

    insertAudit: (entry) => auditLog.insert(entry),

    audit: (deploymentId) => auditLog.forDeployment(deploymentId),
  };
}
