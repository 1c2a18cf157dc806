/**
 * The store: one async interface, SQLite (embedded default) or PostgreSQL behind it, through one
 * Kysely instance so no query is written twice.
 *
 * Adding a concern (deployments, environments, webhook runs, events, leases, audit log):
 * 1. Declare its row interfaces and add its tables to `Database` in `schema.ts` (timestamps as
 *    `number` milliseconds, JSON as `string`).
 * 2. Add `migrations/NNNN-<concern>.ts` with `up`/`down` written with the schema builder (no raw
 *    SQL, so it runs on both databases; `bigint` for timestamps, `text` for JSON) and list it in
 *    `migrations/index.ts`. Never edit a shipped migration; add a new one.
 * 3. Write `<concern>.ts` here exporting `create<Concern>Repository(db: Kysely<Database>)`, a
 *    plain object of async methods. Taking the Kysely instance (rather than the store) lets the
 *    same repository run inside `store.transaction(async (tx) => create<Concern>Repository(tx)...)`.
 * 4. Export from this file only what other folders call. Test it with `describe.each(testStores())`
 *    from `test-stores.test-util.ts`, so it runs against real SQLite and real PostgreSQL.
 */
export {
  type AgentCredentialCheck,
  type AgentCredentialRepository,
  type AgentCredentialSummary,
  ALLOWED_IDENTIFIERS_HOW,
  type CreateAgentCredentialInput,
  type CreatedAgentCredential,
  createAgentCredentialRepository,
  isIdentifierAllowed,
  isWildcardCredential,
  type VerifiedAgentCredential,
  validateIdentifiers,
} from './agent-credentials.js';
export type {
  ApiTokenIdentity,
  ApiTokenRepository,
  ApiTokenSummary,
  BootstrapTokenOptions,
  BootstrapTokenResult,
  CreatedApiToken,
} from './api-tokens.js';
export { DEFAULT_DATABASE_URL } from './database-url.js';
export {
  type AuditEntry,
  type AuditRow,
  createDeploymentRepository,
  type DeploymentEnvironmentRow,
  type DeploymentEventRow,
  type DeploymentRepository,
  type DeploymentRow,
  insertAudit,
  type TransitionWrite,
} from './deployments.js';
export type { StoreLogger } from './logger.js';
export {
  createMetricProviderRepository,
  type MetricProviderRecord,
  type MetricProviderRepository,
} from './metric-providers.js';
export type { Database } from './schema.js';
export { type CreateStoreOptions, createStore, type Store } from './store.js';
export { isUniqueViolation } from './unique-violation.js';
export type {
  NewWebhookRunRow,
  WebhookCallbackTokenRow,
  WebhookRunPatch,
  WebhookRunRepository,
  WebhookRunRow,
} from './webhook-runs.js';
