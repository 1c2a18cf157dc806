import type { Kysely } from 'kysely';

/** Where `analysis` queries go: one row per named metric provider (Prometheus, web). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('metric_providers')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('base_url', 'text', (c) => c.notNull())
    .addColumn('network_mode', 'text', (c) => c.notNull())
    .addColumn('agent_identifier', 'text')
    // JSON [{key, value}]; values are templates (`{{secrets.x}}`), never secret values.
    .addColumn('headers', 'text', (c) => c.notNull())
    // Type-specific settings as JSON (web: jsonPath).
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('metric_providers').execute();
}
