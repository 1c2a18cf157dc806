import type { AgentCredentialsTable } from './agent-credentials.js';
import type { ApiTokensTable } from './api-tokens.js';
import type { AuditLogTable } from './audit-log.js';
import type { ClusterSettingsTable } from './cluster-settings.js';
import type { DeploymentEnvironmentsTable, DeploymentEventsTable, DeploymentsTable } from './deployments.js';
import type { KubernetesRolloutsTable } from './kubernetes-rollouts.js';
import type { MetricProvidersTable } from './metric-providers.js';
import type { SecretsTable } from './secrets.js';
import type { SimulatedTargetsTable } from './simulated-targets.js';
import type { KubernetesAccountsTable, TargetDriversTable } from './target-drivers.js';
import type { WebhookCallbackTokensTable, WebhookRunsTable } from './webhook-runs.js';

/**
 * The database as Kysely sees it: table name to row interface. Only this list lives here; each
 * row interface is declared in the `<concern>.ts` whose repository reads and writes that table.
 * Timestamps are integer milliseconds since the epoch (bigint in PostgreSQL, read back as JS
 * numbers); JSON is stored as text.
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
