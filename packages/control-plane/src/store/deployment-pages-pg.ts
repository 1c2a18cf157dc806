import { type Kysely, sql } from 'kysely';
import type { ClaimedDeployment, DeploymentTables, DrivenRow, TransitionWrite } from './deployments.js';

/**
 * `deployment-pages.ts`'s statements on PostgreSQL, one per page: the rows travel as a few array
 * parameters (`unnest`), not a parameter per value, and what SQLite does in several statements
 * is one here (a round trip each on a network, none on SQLite).
 */

/**
 * `claimAndLoad`: the claim (under `leaseFree`'s condition) returns the rows, their environments
 * and last event seq.
 */
export async function claimAndLoadPg(
  db: Kysely<DeploymentTables>,
  ids: readonly string[],
  owner: string,
  now: number,
  until: number,
): Promise<ClaimedDeployment[]> {
  // json_agg is parsed by the driver: [[name, state], ...].
  const { rows } = await sql<DrivenRow & { environments: Array<[string, string]>; last_seq: number | null }>`
    UPDATE deployments AS d SET lease_owner = ${owner}, lease_expires_at = ${until}
    WHERE d.id = ANY(${[...ids]}::text[])
      AND (d.lease_owner IS NULL OR d.lease_owner = ${owner}
        OR (d.lease_expires_at < ${now} AND NOT EXISTS (
          SELECT 1 FROM replica_leases r WHERE r.owner = d.lease_owner AND r.expires_at >= ${now})))
    RETURNING d.id, d.application, d.status, d.spec, d.context, d.state, d.created_by, d.created_at,
      d.version,
      (SELECT COALESCE(json_agg(json_build_array(e.name, e.state)), '[]'::json)
         FROM deployment_environments e WHERE e.deployment_id = d.id) AS environments,
      (SELECT MAX(ev.seq) FROM deployment_events ev WHERE ev.deployment_id = d.id) AS last_seq`.execute(db);
  return rows.map(({ environments, last_seq, ...row }) => ({
    row,
    environments: environments.map(([name, state]) => ({ name, state })),
    lastSeq: Number(last_seq ?? 0),
  }));
}

/**
 * `writeTransitions`' batched statement for plain writes of one owner (status, state, times,
 * message): the deployment rows under their version and lease check, then only for the rows
 * written their environment rows and their events. The ids written.
 */
export async function writePlainPg(
  db: Kysely<DeploymentTables>,
  ws: readonly TransitionWrite[],
  owner: string,
): Promise<Set<string>> {
  const col = <T>(f: (w: TransitionWrite) => T) => ws.map(f);
  const envs = ws.flatMap((w) => w.environments);
  const events = ws.flatMap((w) => w.events);
  const env = <T>(f: (e: (typeof envs)[number]) => T) => envs.map(f);
  const ev = <T>(f: (e: (typeof events)[number]) => T) => events.map(f);
  const { rows } = await sql<{ id: string }>`
    WITH v AS (
      SELECT * FROM unnest(${col((w) => w.id)}::text[], ${col((w) => w.expectedVersion)}::integer[],
        ${col((w) => w.patch.status)}::text[], ${col((w) => w.patch.state)}::text[],
        ${col((w) => w.patch.updated_at)}::bigint[], ${col((w) => w.patch.wake_at ?? null)}::bigint[],
        ${col((w) => w.patch.message ?? null)}::text[])
        AS v(vid, expected, status, state, updated_at, wake_at, message)
    ), d AS (
      UPDATE deployments SET
        status = v.status, state = v.state, updated_at = v.updated_at, wake_at = v.wake_at,
        message = v.message, version = deployments.version + 1
      FROM v
      WHERE deployments.id = v.vid AND deployments.version = v.expected AND deployments.lease_owner = ${owner}
      RETURNING deployments.id
    ), e AS (
      UPDATE deployment_environments SET
        status = x.status, phase = x.phase, state = x.state, message = x.message,
        started_at = x.started_at, finished_at = x.finished_at
      FROM unnest(${env((e) => e.deployment_id)}::text[], ${env((e) => e.name)}::text[],
        ${env((e) => e.status)}::text[], ${env((e) => e.phase)}::text[], ${env((e) => e.state)}::text[],
        ${env((e) => e.message ?? null)}::text[], ${env((e) => e.started_at ?? null)}::bigint[],
        ${env((e) => e.finished_at ?? null)}::bigint[])
        AS x(did, vname, status, phase, state, message, started_at, finished_at)
      WHERE deployment_environments.deployment_id = x.did AND deployment_environments.name = x.vname
        AND x.did IN (SELECT id FROM d)
    ), i AS (
      INSERT INTO deployment_events (deployment_id, seq, at, type, environment, data)
      SELECT * FROM unnest(${ev((e) => e.deployment_id)}::text[], ${ev((e) => e.seq)}::integer[],
        ${ev((e) => e.at)}::bigint[], ${ev((e) => e.type)}::text[], ${ev((e) => e.environment ?? null)}::text[],
        ${ev((e) => e.data)}::text[]) AS y(deployment_id, seq, at, type, environment, data)
      WHERE y.deployment_id IN (SELECT id FROM d)
    )
    SELECT id FROM d`.execute(db);
  return new Set(rows.map((r) => r.id));
}
