import type { Kysely } from 'kysely';
import { type AgentCredentialRepository, createAgentCredentialRepository } from './agent-credentials.js';
import { type AuditLogRepository, createAuditLogRepository } from './audit-log.js';
import { type ClusterSettingsRepository, createClusterSettingsRepository } from './cluster-settings.js';
import { createDeploymentHistoryRepository, type DeploymentHistoryRepository } from './deployment-history.js';
import { createDeploymentRepository, type DeploymentRepository } from './deployments.js';
import {
  createKubernetesRolloutRepository,
  type KubernetesRolloutRepository,
} from './kubernetes-rollouts.js';
import { createMetricProviderRepository, type MetricProviderRepository } from './metric-providers.js';
import type { Database } from './schema.js';
import { createSealedSecretRepository, type SealedSecretRepository } from './secrets.js';
import { createSimulatedTargetRepository, type SimulatedTargetRepository } from './simulated-targets.js';
import { createTargetDriverRepository, type TargetDriverRepository } from './target-drivers.js';
import { createWebhookRunRepository, type WebhookRunRepository } from './webhook-runs.js';

/**
 * Every repository, bound to one Kysely instance: the store's own, or one transaction's (what
 * `store.transaction(fn)` hands `fn`). API tokens are not here: their repository holds the
 * process's `BOREALIS_API_TOKEN`, so it exists once, on the store.
 */
export interface StoreRepositories {
  readonly deployments: DeploymentRepository;
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

export function createRepositories(db: Kysely<Database>): StoreRepositories {
  return {
    deployments: createDeploymentRepository(db),
    deploymentHistory: createDeploymentHistoryRepository(db),
    auditLog: createAuditLogRepository(db),
    webhookRuns: createWebhookRunRepository(db),
    agentCredentials: createAgentCredentialRepository(db),
    metricProviders: createMetricProviderRepository(db),
    sealedSecrets: createSealedSecretRepository(db),
    clusterSettings: createClusterSettingsRepository(db),
    simulatedTargets: createSimulatedTargetRepository(db),
    targetDrivers: createTargetDriverRepository(db),
    kubernetesRollouts: createKubernetesRolloutRepository(db),
  };
}
