import type { Kysely } from 'kysely';

/**
 * One lease row per replica. A deployment's lease is held while its row's own expiry (set when it
 * was claimed) or its owner's replica lease has not passed, so renewing every lease a replica holds
 * is one row's write, not a rewrite of every deployment it drives.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('replica_leases')
    .addColumn('owner', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('replica_leases').execute();
}
