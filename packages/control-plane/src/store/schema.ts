import type {
  AuditLogTable,
  DeploymentEnvironmentsTable,
  DeploymentEventsTable,
  DeploymentsTable,
  SimulatedTargetsTable,
} from './deployment-tables.js';
import type { MetricProvidersTable } from './metric-providers.js';
import type { WebhookCallbackTokensTable, WebhookRunsTable } from './webhook-run-tables.js';

/**
 * The database as Kysely sees it: one interface per table, keyed by table name. Timestamps are
 * integer milliseconds since the epoch (bigint in PostgreSQL, read back as JS numbers); JSON is
 * stored as text. A concern that adds tables declares its row interfaces next to its repository
 * and adds them to `Database` here, together with a migration under `migrations/`.
 */
export interface Database {
  api_tokens: ApiTokensTable;
  agent_credentials: AgentCredentialsTable;
  secrets: SecretsTable;
  deployments: DeploymentsTable;
  deployment_environments: DeploymentEnvironmentsTable;
  deployment_events: DeploymentEventsTable;
  audit_log: AuditLogTable;
  simulated_targets: SimulatedTargetsTable;
  webhook_runs: WebhookRunsTable;
  webhook_callback_tokens: WebhookCallbackTokensTable;
  cluster_settings: ClusterSettingsTable;
  metric_providers: MetricProvidersTable;
  target_drivers: TargetDriversTable;
  kubernetes_rollouts: KubernetesRolloutsTable;
  kubernetes_accounts: KubernetesAccountsTable;
}

/** Which driver an environment of a deployment uses, chosen at its first action. */
export interface TargetDriversTable {
  deployment_id: string;
  environment: string;
  application: string;
  driver: string;
  /** Why this driver (for the status view): `account prod-eu is a Kubernetes agent`. */
  reason: string;
  created_at: number;
}

export interface KubernetesRolloutsTable {
  deployment_id: string;
  environment: string;
  application: string;
  /** The Kubernetes driver's record of one rollout, as JSON (kubernetes/rollout-record.ts). */
  state: string;
  updated_at: number;
}

/** Agent identifiers that answered as Kubernetes agents: they stay Kubernetes targets. */
export interface KubernetesAccountsTable {
  identifier: string;
  seen_at: number;
}

export interface ApiTokensTable {
  id: string;
  /** Who, for the audit log: `bootstrap` for the generated token, or a name given at creation. */
  name: string;
  /** Hex SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  /** JSON array of role names: `admin`, `deployer`, `viewer`, or approver roles. */
  roles: string;
  created_at: number;
  revoked_at: number | null;
}

export interface AgentCredentialsTable {
  client_id: string;
  name: string;
  /** Hex SHA-256 of the client secret. */
  secret_hash: string;
  /** JSON array of agent identifiers or `*` globs; empty means any identifier. */
  allowed_identifiers: string;
  created_at: number;
  revoked_at: number | null;
}

export interface SecretsTable {
  name: string;
  /** `v1.<base64 nonce>.<base64 ciphertext+tag>`: AES-256-GCM with the name as associated data. */
  ciphertext: string;
  /** Fingerprint of the key that sealed this value, so a changed key is reported as such. */
  key_id: string;
  created_at: number;
  updated_at: number;
}

export interface ClusterSettingsTable {
  /** e.g. `cluster_id`: the bus namespace of the replicas sharing this database. */
  name: string;
  value: string;
}
