import type { Kysely } from 'kysely';

/**
 * A `remoteNetworkAgent` run that finds no agent for its identifier waits for one instead of
 * failing; while it waits, people see for which agent and until when (any replica's status view
 * reads it from here).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_runs').addColumn('waiting', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_runs').dropColumn('waiting').execute();
}
