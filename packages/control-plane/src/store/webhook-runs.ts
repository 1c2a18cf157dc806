import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Database } from './schema.js';
import type { WebhookCallbackTokensTable, WebhookRunsTable } from './webhook-run-tables.js';

export type WebhookRunRow = Selectable<WebhookRunsTable>;
export type NewWebhookRunRow = Insertable<WebhookRunsTable>;
export type WebhookRunPatch = Omit<Updateable<WebhookRunsTable>, 'id'>;
export type WebhookCallbackTokenRow = Selectable<WebhookCallbackTokensTable>;

/**
 * Rows of webhook runs and their callback tokens. Status changes are conditional
 * (`onlyIfStatusIn`), so a callback, a deadline and a cancel racing for the same run settle it
 * exactly once, whichever replica or timer gets there first.
 */
export interface WebhookRunRepository {
  /**
   * Inserts the run unless one exists for the same (deployment, environment, location); returns
   * the stored row and whether it is the one just inserted.
   */
  insertIfAbsent(row: NewWebhookRunRow): Promise<{ row: WebhookRunRow; inserted: boolean }>;
  get(id: string): Promise<WebhookRunRow | undefined>;
  find(deploymentId: string, environment: string, location: string): Promise<WebhookRunRow | undefined>;
  listForDeployment(deploymentId: string): Promise<WebhookRunRow[]>;
  /** Runs whose status is one of `statuses`, oldest first. */
  listByStatus(statuses: readonly string[]): Promise<WebhookRunRow[]>;
  /** True if the row was changed; with `onlyIfStatusIn`, only while its status is one of those. */
  update(id: string, patch: WebhookRunPatch, onlyIfStatusIn?: readonly string[]): Promise<boolean>;
  addCallbackToken(row: WebhookCallbackTokenRow): Promise<void>;
  findCallbackToken(tokenHash: string): Promise<WebhookCallbackTokenRow | undefined>;
}

export function createWebhookRunRepository(db: Kysely<Database>): WebhookRunRepository {
  const get = (id: string) =>
    db.selectFrom('webhook_runs').selectAll().where('id', '=', id).executeTakeFirst();
  const find = (deploymentId: string, environment: string, location: string) =>
    db
      .selectFrom('webhook_runs')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .where('environment', '=', environment)
      .where('location', '=', location)
      .executeTakeFirst();
  return {
    async insertIfAbsent(row) {
      const result = await db
        .insertInto('webhook_runs')
        .values(row)
        .onConflict((oc) => oc.columns(['deployment_id', 'environment', 'location']).doNothing())
        .executeTakeFirst();
      const inserted = (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
      const stored = await find(row.deployment_id, row.environment, row.location);
      if (!stored) throw new Error(`webhook run ${row.id} vanished right after it was written`);
      return { row: stored, inserted };
    },
    get,
    find,
    listForDeployment: (deploymentId) =>
      db
        .selectFrom('webhook_runs')
        .selectAll()
        .where('deployment_id', '=', deploymentId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
    listByStatus: async (statuses) =>
      statuses.length === 0
        ? []
        : db
            .selectFrom('webhook_runs')
            .selectAll()
            .where('status', 'in', [...statuses])
            .orderBy('created_at')
            .orderBy('id')
            .execute(),
    async update(id, patch, onlyIfStatusIn) {
      let query = db.updateTable('webhook_runs').set(patch).where('id', '=', id);
      if (onlyIfStatusIn) {
        if (onlyIfStatusIn.length === 0) return false;
        query = query.where('status', 'in', [...onlyIfStatusIn]);
      }
      const result = await query.executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async addCallbackToken(row) {
      await db.insertInto('webhook_callback_tokens').values(row).execute();
    },
    findCallbackToken: (tokenHash) =>
      db
        .selectFrom('webhook_callback_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst(),
  };
}
