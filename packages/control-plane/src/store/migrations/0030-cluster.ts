import type { Kysely } from 'kysely';

/** Facts about the cluster every replica sharing this database must agree on (its bus namespace). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('cluster_settings')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('cluster_settings').execute();
}
