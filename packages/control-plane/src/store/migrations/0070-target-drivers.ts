import type { Kysely } from 'kysely';

/**
 * Target drivers beyond the simulated one: which driver each environment of a deployment uses
 * (chosen once, at its first action, so a restart or an agent that went away does not switch
 * it), and what the Kubernetes driver keeps per rollout (the objects it found before applying,
 * which a rollback restores, and the versions and replicas it last set).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('target_drivers')
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('application', 'text', (c) => c.notNull())
    .addColumn('driver', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('target_drivers_pk', ['deployment_id', 'environment'])
    .execute();
  await db.schema
    .createIndex('target_drivers_latest')
    .on('target_drivers')
    .columns(['application', 'environment', 'created_at'])
    .execute();
  await db.schema
    .createTable('kubernetes_rollouts')
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('application', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('kubernetes_rollouts_pk', ['deployment_id', 'environment'])
    .execute();
  await db.schema
    .createIndex('kubernetes_rollouts_latest')
    .on('kubernetes_rollouts')
    .columns(['application', 'environment', 'updated_at'])
    .execute();
  await db.schema
    .createTable('kubernetes_accounts')
    .addColumn('identifier', 'text', (c) => c.primaryKey())
    .addColumn('seen_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('kubernetes_accounts').execute();
  await db.schema.dropTable('kubernetes_rollouts').execute();
  await db.schema.dropTable('target_drivers').execute();
}
