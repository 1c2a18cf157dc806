import type { AgentCredentialTables } from './agent-credentials.js';
import type { ApiTokenTables } from './api-tokens.js';
import type { AuditLogTables } from './audit-log.js';
import type { ClusterSettingsTables } from './cluster-settings.js';
import type { DeploymentTables } from './deployments.js';
import type { KubernetesRolloutTables } from './kubernetes-rollouts.js';
import type { MetricProviderTables } from './metric-providers.js';
import type { SecretTables } from './secrets.js';
import type { SimulatedTargetTables } from './simulated-targets.js';
import type { TargetDriverTables } from './target-drivers.js';
import type { WebhookRunTables } from './webhook-runs.js';

/**
 * The database as Kysely sees it: every concern's tables, by name. Only this join lives here;
 * each `<Concern>Tables` (and its row interfaces) is declared in the `<concern>.ts` whose
 * repository reads and writes those tables, typed on its own tables only, so no repository
 * imports this file. Timestamps are integer milliseconds since the epoch (bigint in PostgreSQL,
 * read back as JS numbers); JSON is stored as text.
 */
export interface Database
  extends AgentCredentialTables,
    ApiTokenTables,
    AuditLogTables,
    ClusterSettingsTables,
    DeploymentTables,
    KubernetesRolloutTables,
    MetricProviderTables,
    SecretTables,
    SimulatedTargetTables,
    TargetDriverTables,
    WebhookRunTables {}
