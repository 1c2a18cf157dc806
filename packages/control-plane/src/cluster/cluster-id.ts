import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

/**
 * The replicas that share a database are one cluster, so the database names it: the first replica
 * to start writes a random id and every other one reads it. Two clusters on one NATS (staging and
 * production, or parallel test runs) so never hear each other, with nothing to configure.
 */
export async function loadClusterId(db: Kysely<Database>): Promise<string> {
  const candidate = randomBytes(6).toString('hex');
  await db
    .insertInto('cluster_settings')
    .values({ name: 'cluster_id', value: candidate })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db
    .selectFrom('cluster_settings')
    .select('value')
    .where('name', '=', 'cluster_id')
    .executeTakeFirstOrThrow();
  return row.value;
}
