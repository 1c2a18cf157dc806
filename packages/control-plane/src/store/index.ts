/**
 * The store: one async interface, SQLite (embedded default) or PostgreSQL behind it, through one
 * Kysely instance so no query is written twice. It is the only place that writes SQL: other
 * folders call repositories (`store.deployments`, `store.sealedSecrets`, ...) and never see Kysely.
 *
 * One convention for every concern (deployments, webhook runs, secrets, target drivers, ...):
 * 1. `<concern>.ts` here declares the concern's tables (`<Name>Table` row interfaces: timestamps
 *    as `number` milliseconds, JSON as `string`) and `<Concern>Tables` (name to row interface),
 *    an explicit `<Concern>Repository` interface of async methods, and
 *    `create<Concern>Repository(db: Kysely<<Concern>Tables>): <Concern>Repository`. Typed on its
 *    own tables, a repository never imports `schema.ts`; taking the Kysely instance lets the same
 *    code run on the store or inside a transaction.
 *    What the rows mean beyond the table (sealing secrets, a driver's JSON) stays in its folder.
 * 2. `schema.ts` adds `<Concern>Tables` to `Database` (the join of all, nothing else).
 * 3. `migrations/NNNN-<concern>.ts` has `up`/`down` written with the schema builder (no raw SQL,
 *    so it runs on both databases; `bigint` for timestamps, `text` for JSON), listed in
 *    `migrations/index.ts`. Never edit a shipped migration; add a new one.
 * 4. `repositories.ts` adds the repository to `StoreRepositories` (built on
 *    `narrowed<<Concern>Tables>(db)`), so it is a property of the
 *    store and of what `store.transaction(fn)` hands `fn` (the same repositories, bound to the
 *    transaction).
 * 5. Export from this file only what other folders call. Test it with
 *    `describe.each(TEST_BACKENDS)` and `useTestStore(kind)` (test/kit/store.ts, over
 *    `test-stores.test-util.ts`), so it runs against real SQLite and real PostgreSQL. A test that must see or damage rows the repositories never show
 *    uses `rawDatabase(store)` from `raw-database.test-util.ts` (tests only: `Store` has no `db`).
 */
export {
  type AgentCredentialCheck,
  type AgentCredentialRepository,
  type AgentCredentialSummary,
  ALLOWED_IDENTIFIERS_HOW,
  type CreateAgentCredentialInput,
  type CreatedAgentCredential,
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
export type { AuditEntry, AuditLogRepository, AuditRow } from './audit-log.js';
export type { ClusterSettingsRepository } from './cluster-settings.js';
export { DEFAULT_DATA_DIR, EMBEDDED_DATABASE_FILE } from './database-url.js';
export type { DeploymentHistoryRepository, DeploymentHistoryRows } from './deployment-history.js';
export type { DeploymentPageRepository, LoadedDeployment } from './deployment-pages.js';
export type {
  ClaimedDeployment,
  DeploymentEnvironmentRow,
  DeploymentEventRow,
  DeploymentRepository,
  DeploymentRow,
  DrivenEnvironmentRow,
  DrivenRow,
  TransitionWrite,
} from './deployments.js';
export type { KubernetesRolloutRepository } from './kubernetes-rollouts.js';
export type { StoreLogger } from './logger.js';
export type { MetricProviderRecord, MetricProviderRepository } from './metric-providers.js';
export type { StoreRepositories } from './repositories.js';
export type { Database } from './schema.js';
export type { SealedSecretRepository, SealedSecretRow } from './secrets.js';
export type { SimulatedTargetRepository } from './simulated-targets.js';
export { type CreateStoreOptions, createStore, type Store } from './store.js';
export type { TargetDriverChoice, TargetDriverRepository } from './target-drivers.js';
export { isUniqueViolation } from './unique-violation.js';
export type {
  NewWebhookRunRow,
  WebhookCallbackTokenRow,
  WebhookRunOutcomeRow,
  WebhookRunPatch,
  WebhookRunRepository,
  WebhookRunRow,
} from './webhook-runs.js';
