import type { Kysely } from 'kysely';

/**
 * People with roles, and an audit trail that says why and from where.
 *
 * `api_tokens.roles` is a JSON array of role names. Tokens that existed before roles did were
 * the bootstrap token (the only way to get one), which is `admin`, so the default for existing
 * rows is `["admin"]`; every new row names its roles explicitly.
 *
 * `audit_log` gains the decision's reason, the caller's source address and the id of the token
 * used (names need not be unique; the id tells two tokens of one name apart).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('api_tokens')
    .addColumn('roles', 'text', (c) => c.notNull().defaultTo('["admin"]'))
    .execute();
  await db.schema.alterTable('audit_log').addColumn('reason', 'text').execute();
  await db.schema.alterTable('audit_log').addColumn('source', 'text').execute();
  await db.schema.alterTable('audit_log').addColumn('token_id', 'text').execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_who').on('audit_log').columns(['who', 'at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_log_who').execute();
  await db.schema.dropIndex('audit_log_at').execute();
  await db.schema.alterTable('audit_log').dropColumn('token_id').execute();
  await db.schema.alterTable('audit_log').dropColumn('source').execute();
  await db.schema.alterTable('audit_log').dropColumn('reason').execute();
  await db.schema.alterTable('api_tokens').dropColumn('roles').execute();
}
