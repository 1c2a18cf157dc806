import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import { insertRows, updateWhere } from './compiled-shapes.js';

/**
 * Tables of the webhooks concern. A run row holds everything `WebhookRun` shows plus what a
 * restarted control plane needs to carry on: the invocation (to render the call again), how many
 * attempts were started, and when the next one is due. Callback tokens live in their own table,
 * stored as SHA-256 hashes only; one row per token issued, each bound to one run and the attempt
 * that first carried it.
 */
export interface WebhookRunsTable {
  id: string;
  deployment_id: string;
  environment: string;
  location: string;
  webhook_name: string;
  /** JSON: the webhook spec, context, armory values and account, as the engine handed them over. */
  invocation: string;
  /** `pending`, `awaiting_callback`, `succeeded`, `failed` or `cancelled`. */
  status: string;
  /** Same on every attempt: the `webhook-id` header receivers de-duplicate on. */
  call_id: string;
  /** Attempts started, the one in flight included; more than `attempts` holds means one was cut off. */
  attempt_count: number;
  /** When the next attempt is due; null when none is scheduled. */
  next_attempt_at: number | null;
  /** JSON array of finished attempts. */
  attempts: string;
  deadline_at: number;
  /** JSON: the rendered request with secrets and the callback token masked. */
  request: string | null;
  /** JSON: `{success, mdMessage?, receivedAt}`. */
  callback: string | null;
  reason: string | null;
  /**
   * JSON `{agentIdentifier, since, until}` while a pending run waits for an agent of its
   * identifier to connect; null otherwise.
   */
  waiting: string | null;
  /** BRL_ERR_* code of the reason, for programs; the reason is for people. */
  reason_code: string | null;
  created_at: number;
  updated_at: number;
  settled_at: number | null;
}

export interface WebhookCallbackTokensTable {
  /** Hex SHA-256 of the token; the token itself exists only in the call that carried it. */
  token_hash: string;
  run_id: string;
  attempt: number;
  created_at: number;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface WebhookRunTables {
  webhook_runs: WebhookRunsTable;
  webhook_callback_tokens: WebhookCallbackTokensTable;
}

export type WebhookRunRow = Selectable<WebhookRunsTable>;
export type NewWebhookRunRow = Insertable<WebhookRunsTable>;
export type WebhookRunPatch = Omit<Updateable<WebhookRunsTable>, 'id'>;
export type WebhookCallbackTokenRow = Selectable<WebhookCallbackTokensTable>;
/** What `outcomesForDeployments` reads of a run: its outcome and timers, not its call. */
export type WebhookRunOutcomeRow = Pick<
  WebhookRunRow,
  | 'id'
  | 'deployment_id'
  | 'environment'
  | 'location'
  | 'status'
  | 'reason'
  | 'callback'
  | 'deadline_at'
  | 'next_attempt_at'
>;

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
  /** `listForDeployment` for many deployments in one query. */
  listForDeployments(deploymentIds: readonly string[]): Promise<WebhookRunRow[]>;
  /**
   * The runs of many deployments in one query, only the columns their outcomes and timers need
   * (resuming at start-up: not the invocation, request or attempts, the bulk of a row).
   */
  outcomesForDeployments(deploymentIds: readonly string[]): Promise<WebhookRunOutcomeRow[]>;
  /** Runs whose status is one of `statuses`, oldest first. */
  listByStatus(statuses: readonly string[]): Promise<WebhookRunRow[]>;
  /** How many runs have each of `statuses` (statuses with none are absent). */
  countByStatus(statuses: readonly string[]): Promise<Array<{ status: string; count: number }>>;
  /** True if the row was changed; with `onlyIfStatusIn`, only while its status is one of those. */
  update(id: string, patch: WebhookRunPatch, onlyIfStatusIn?: readonly string[]): Promise<boolean>;
  addCallbackToken(row: WebhookCallbackTokenRow): Promise<void>;
  findCallbackToken(tokenHash: string): Promise<WebhookCallbackTokenRow | undefined>;
}

export function createWebhookRunRepository(db: Kysely<WebhookRunTables>): WebhookRunRepository {
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
      const result = await insertRows(
        db,
        'webhook_runs',
        [row],
        ['deployment_id', 'environment', 'location'],
      );
      const inserted = (result.numAffectedRows ?? 0n) > 0n;
      // Inserted: the stored row is what was written (a column not given is null).
      if (inserted) {
        const stored: WebhookRunRow = {
          ...row,
          next_attempt_at: row.next_attempt_at ?? null,
          request: row.request ?? null,
          callback: row.callback ?? null,
          reason: row.reason ?? null,
          waiting: row.waiting ?? null,
          reason_code: row.reason_code ?? null,
          settled_at: row.settled_at ?? null,
        };
        return { row: stored, inserted };
      }
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
    listForDeployments: async (deploymentIds) =>
      deploymentIds.length === 0
        ? []
        : db
            .selectFrom('webhook_runs')
            .selectAll()
            .where('deployment_id', 'in', [...deploymentIds])
            .orderBy('created_at')
            .orderBy('id')
            .execute(),
    outcomesForDeployments: async (deploymentIds) =>
      deploymentIds.length === 0
        ? []
        : db
            .selectFrom('webhook_runs')
            .select([
              'id',
              'deployment_id',
              'environment',
              'location',
              'status',
              'reason',
              'callback',
              'deadline_at',
              'next_attempt_at',
            ])
            .where('deployment_id', 'in', [...deploymentIds])
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
    async countByStatus(statuses) {
      if (statuses.length === 0) return [];
      const rows = await db
        .selectFrom('webhook_runs')
        .select(['status', db.fn.countAll<number>().as('n')])
        .where('status', 'in', [...statuses])
        .groupBy('status')
        .execute();
      return rows.map((r) => ({ status: r.status, count: Number(r.n) }));
    },
    // A start's run statements are compiled once per shape (compiled-shapes.ts).
    async update(id, patch, onlyIfStatusIn) {
      if (onlyIfStatusIn?.length === 0) return false;
      const result = await updateWhere(db, 'webhook_runs', patch, [
        ['id', '=', id],
        ...(onlyIfStatusIn ? [['status', 'in', onlyIfStatusIn] as const] : []),
      ]);
      return (result.numAffectedRows ?? 0n) > 0n;
    },
    async addCallbackToken(row) {
      await insertRows(db, 'webhook_callback_tokens', [row]);
    },
    findCallbackToken: (tokenHash) =>
      db
        .selectFrom('webhook_callback_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst(),
  };
}
