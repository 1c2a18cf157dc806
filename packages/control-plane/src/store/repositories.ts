import type { Kysely } from 'kysely';
import {
  type AgentCredentialRepository,
  type AgentCredentialTables,
  createAgentCredentialRepository,
} from './agent-credentials.js';
import { type AuditLogRepository, type AuditLogTables, createAuditLogRepository } from './audit-log.js';
import {
  type ClusterSettingsRepository,
  type ClusterSettingsTables,
  createClusterSettingsRepository,
} from './cluster-settings.js';
import { createDeploymentHistoryRepository, type DeploymentHistoryRepository } from './deployment-history.js';
import { createDeploymentPageRepository, type DeploymentPageRepository } from './deployment-pages.js';
import {
  createDeploymentRepository,
  type DeploymentAndAuditTables,
  type DeploymentRepository,
  type DeploymentTables,
} from './deployments.js';
import {
  createKubernetesRolloutRepository,
  type KubernetesRolloutRepository,
  type KubernetesRolloutTables,
} from './kubernetes-rollouts.js';
import {
  createMetricProviderRepository,
  type MetricProviderRepository,
  type MetricProviderTables,
} from './metric-providers.js';
import type { Database } from './schema.js';
import { createSealedSecretRepository, type SealedSecretRepository, type SecretTables } from './secrets.js';
import {
  createSimulatedTargetRepository,
  type SimulatedTargetRepository,
  type SimulatedTargetTables,
} from './simulated-targets.js';
import {
  createTargetDriverRepository,
  type TargetDriverRepository,
  type TargetDriverTables,
} from './target-drivers.js';
import {
  createWebhookRunRepository,
  type WebhookRunRepository,
  type WebhookRunTables,
} from './webhook-runs.js';

/**
 * Every repository, bound to one Kysely instance: the store's own, or one transaction's (what
 * `store.transaction(fn)` hands `fn`). API tokens are not here: their repository holds the
 * process's `BOREALIS_API_TOKEN`, so it exists once, on the store.
 */
export interface StoreRepositories {
  readonly deployments: DeploymentRepository;
  /** A page of deployments at once (resuming many at start-up). */
  readonly deploymentPages: DeploymentPageRepository;
  readonly deploymentHistory: DeploymentHistoryRepository;
  readonly auditLog: AuditLogRepository;
  readonly webhookRuns: WebhookRunRepository;
  readonly agentCredentials: AgentCredentialRepository;
  readonly metricProviders: MetricProviderRepository;
  readonly sealedSecrets: SealedSecretRepository;
  readonly clusterSettings: ClusterSettingsRepository;
  readonly simulatedTargets: SimulatedTargetRepository;
  readonly targetDrivers: TargetDriverRepository;
  readonly kubernetesRollouts: KubernetesRolloutRepository;
}

export function createRepositories(db: Kysely<Database>, kind: 'sqlite' | 'postgres'): StoreRepositories {
  const on = <T extends object>() => narrowed<T>(db);
  const auditLog = createAuditLogRepository(on<AuditLogTables>());
  const deployments = createDeploymentRepository(on<DeploymentTables>(), auditLog);
  return {
    deployments,
    deploymentPages: createDeploymentPageRepository(on<DeploymentTables>(), deployments, kind),
    deploymentHistory: createDeploymentHistoryRepository(on<DeploymentAndAuditTables>()),
    auditLog,
    webhookRuns: createWebhookRunRepository(on<WebhookRunTables>()),
    agentCredentials: createAgentCredentialRepository(on<AgentCredentialTables>()),
    metricProviders: createMetricProviderRepository(on<MetricProviderTables>()),
    sealedSecrets: createSealedSecretRepository(on<SecretTables>()),
    clusterSettings: createClusterSettingsRepository(on<ClusterSettingsTables>()),
    simulatedTargets: createSimulatedTargetRepository(on<SimulatedTargetTables>()),
    targetDrivers: createTargetDriverRepository(on<TargetDriverTables>()),
    kubernetesRollouts: createKubernetesRolloutRepository(on<KubernetesRolloutTables>()),
  };
}

/**
 * The same Kysely instance, typed on one concern's tables only, so a repository imports its own
 * tables and never `schema.ts` (which imports every concern: that would be a cycle). Sound
 * because `Database` extends every `<Concern>Tables`; Kysely's types are invariant in the
 * database, hence the cast, made here once.
 */
export function narrowed<T extends object>(db: Kysely<Database>): Database extends T ? Kysely<T> : never {
  return db as unknown as Database extends T ? Kysely<T> : never;
}
