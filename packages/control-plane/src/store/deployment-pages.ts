import { type Kysely, sql } from 'kysely';
import { claimAndLoadPg, writePlainPg } from './deployment-pages-pg.js';
import {
  type ClaimedDeployment,
  type DeploymentEnvironmentRow,
  type DeploymentRepository,
  type DeploymentRow,
  type DeploymentTables,
  leaseFree,
  type TransitionWrite,
} from './deployments.js';

/** A deployment as `loadMany` reads it. */
export interface LoadedDeployment {
  row: DeploymentRow;
  environments: DeploymentEnvironmentRow[];
  lastSeq: number;
}

/**
 * The deployments' statements for a page of them at once (the engine resuming many at start-up,
 * `engine/resume.ts`): a handful of statements per page, not several per deployment. The same
 * tables as `deployments.ts`; one deployment at a time is that file's.
 */
export interface DeploymentPageRepository {
  /** `claim` for many at once (one statement): the ids whose lease is now ours. */
  claimMany(ids: readonly string[], owner: string, now: number, until: number): Promise<string[]>;
  /**
   * `claimMany` then `loadMany` of the ids claimed, only the columns driving them needs: on
   * PostgreSQL one statement (the claim returns the rows, their environments and last event
   * seq), a round trip per page instead of four.
   */
  claimAndLoad(
    ids: readonly string[],
    owner: string,
    now: number,
    until: number,
  ): Promise<ClaimedDeployment[]>;
  /**
   * Everything needed to drive the deployments `ids` (rows, environment rows, last event seq) in
   * three queries, not three per deployment (resuming many at start-up). Absent ids are left out.
   */
  loadMany(ids: readonly string[]): Promise<LoadedDeployment[]>;
  /**
   * `writeTransition` for many deployments (resuming many at start-up) in a few statements, not
   * three per deployment: one UPDATE of the deployment rows (each under its own version and lease
   * check), one of their environment rows, one INSERT of their events. Run it in a transaction.
   * One answer per write, in order.
   */
  writeTransitions(ws: readonly TransitionWrite[]): Promise<boolean[]>;
}

/** The patch columns `writeTransitions` writes in one statement. */
const PLAIN_PATCH = new Set(['status', 'state', 'updated_at', 'wake_at', 'message']);
/** Rows per statement in `writeTransitions` (well under SQLite's and PostgreSQL's parameter limits). */
const WRITE_CHUNK = 500;

/**
 * `deployments` must be bound to the same database or transaction as `db`: the writes that do not
 * fit the batched statement (a final transition, an audit entry) go through its `writeTransition`
 * and must commit with the rest (`repositories.ts` builds both on one).
 */
export function createDeploymentPageRepository(
  db: Kysely<DeploymentTables>,
  deployments: Pick<DeploymentRepository, 'writeTransition'>,
  kind: 'sqlite' | 'postgres',
): DeploymentPageRepository {
  const pages: DeploymentPageRepository = {
    async claimAndLoad(ids, owner, now, until) {
      if (ids.length === 0) return [];
      if (kind === 'sqlite') {
        // Local: the two reads cost little; the same answer as PostgreSQL's.
        const loaded = await pages.loadMany(await pages.claimMany(ids, owner, now, until));
        return loaded.map(({ row: r, environments, lastSeq }) => ({
          row: {
            id: r.id,
            application: r.application,
            status: r.status,
            spec: r.spec,
            context: r.context,
            state: r.state,
            created_by: r.created_by,
            created_at: r.created_at,
            version: r.version,
          },
          environments: environments.map(({ name, state }) => ({ name, state })),
          lastSeq,
        }));
      }
      return claimAndLoadPg(db, ids, owner, now, until);
    },

    async claimMany(ids, owner, now, until) {
      if (ids.length === 0) return [];
      const rows = await db
        .updateTable('deployments')
        .set({ lease_owner: owner, lease_expires_at: until })
        .where('id', 'in', [...ids])
        .where((eb) => leaseFree(eb, now, owner))
        .returning('id')
        .execute();
      return rows.map((r) => r.id);
    },

    async loadMany(ids) {
      if (ids.length === 0) return [];
      const list = [...ids];
      const rows = await db.selectFrom('deployments').selectAll().where('id', 'in', list).execute();
      const envs = await db
        .selectFrom('deployment_environments')
        .selectAll()
        .where('deployment_id', 'in', list)
        .execute();
      const seqs = await db
        .selectFrom('deployment_events')
        .select((eb) => ['deployment_id', eb.fn.max('seq').as('seq')])
        .where('deployment_id', 'in', list)
        .groupBy('deployment_id')
        .execute();
      const byId = new Map<string, LoadedDeployment>();
      for (const row of rows) byId.set(row.id, { row, environments: [], lastSeq: 0 });
      for (const e of envs) byId.get(e.deployment_id)?.environments.push(e);
      for (const s of seqs) {
        const d = byId.get(s.deployment_id);
        if (d) d.lastSeq = Number(s.seq ?? 0);
      }
      return [...byId.values()];
    },

    async writeTransitions(ws) {
      const answers = new Map<string, boolean>();
      // The common shape (status, state, times, message) in one statement; anything else (a final
      // transition, an audit entry) one by one.
      const plain = (w: TransitionWrite) =>
        !w.audit && Object.keys(w.patch).every((k) => PLAIN_PATCH.has(k)) && w.patch.status !== undefined;
      const batch = ws.filter(plain);
      for (const w of ws) if (!plain(w)) answers.set(w.id, await deployments.writeTransition(w));
      for (let i = 0; i < batch.length; i += WRITE_CHUNK) {
        const chunk = batch.slice(i, i + WRITE_CHUNK);
        const owner = chunk[0]!.owner;
        if (kind === 'postgres') {
          const mine = chunk.filter((w) => w.owner === owner);
          const ok = await writePlainPg(db, mine, owner);
          for (const w of chunk) answers.set(w.id, ok.has(w.id) && w.owner === owner);
          continue;
        }
        const values = sql.join(
          chunk.map(
            (w) =>
              sql`(${w.id}, ${w.expectedVersion}, ${w.patch.status}, ${w.patch.state}, ${w.patch.updated_at}, ${w.patch.wake_at ?? null}, ${w.patch.message ?? null})`,
          ),
        );
        const updated = await sql<{ id: string }>`
          WITH v(vid, expected, status, state, updated_at, wake_at, message) AS (VALUES ${values})
          UPDATE deployments SET
            status = v.status,
            state = v.state,
            updated_at = CAST(v.updated_at AS BIGINT),
            wake_at = CAST(v.wake_at AS BIGINT),
            message = v.message,
            version = deployments.version + 1
          FROM v
          WHERE deployments.id = v.vid
            AND deployments.version = CAST(v.expected AS INTEGER)
            AND deployments.lease_owner = ${owner}
          RETURNING deployments.id`.execute(db);
        const ok = new Set(updated.rows.map((r) => r.id));
        const written = chunk.filter((w) => ok.has(w.id) && w.owner === owner);
        for (const w of chunk) answers.set(w.id, ok.has(w.id) && w.owner === owner);
        const envs = written.flatMap((w) => w.environments);
        if (envs.length > 0) {
          const envValues = sql.join(
            envs.map(
              (e) =>
                sql`(${e.deployment_id}, ${e.name}, ${e.status}, ${e.phase}, ${e.state}, ${e.message ?? null}, ${e.started_at ?? null}, ${e.finished_at ?? null})`,
            ),
          );
          await sql`
            WITH v(did, vname, status, phase, state, message, started_at, finished_at) AS (VALUES ${envValues})
            UPDATE deployment_environments SET
              status = v.status,
              phase = v.phase,
              state = v.state,
              message = v.message,
              started_at = CAST(v.started_at AS BIGINT),
              finished_at = CAST(v.finished_at AS BIGINT)
            FROM v
            WHERE deployment_environments.deployment_id = v.did AND deployment_environments.name = v.vname`.execute(
            db,
          );
        }
        const events = written.flatMap((w) => w.events);
        for (let j = 0; j < events.length; j += WRITE_CHUNK)
          await db
            .insertInto('deployment_events')
            .values(events.slice(j, j + WRITE_CHUNK))
            .execute();
      }
      return ws.map((w) => answers.get(w.id) ?? false);
    },
  };
  return pages;
}
