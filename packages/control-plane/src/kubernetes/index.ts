/**
 * The `kubernetes` target driver: the deploy file's manifests applied (server-side apply, field
 * manager `borealis`) through the agent that lives in the cluster, rollouts watched to the end,
 * canary and blue/green as two Deployments side by side, rollback to what was there before; the
 * choice of driver per environment. The objects it applies (and `deploy plan`, which prints what
 * the driver would send) are pure functions of the deploy file in `@borealis/deploy-spec`.
 */

export {
  type EnvironmentPlan,
  FIELD_MANAGER,
  formatPlan,
  type KubeObject,
  ManifestError,
  type PlannedCall,
  planDeployment,
} from '@borealis/deploy-spec';
export { createKubernetesApi, type KubernetesApi, KubernetesApiError } from './api-client.js';
export { createDriverChoice, TARGET_DRIVER_MODES, type TargetDriverMode } from './driver-choice.js';
export { createKubernetesDriver } from './kubernetes-driver.js';
export { KUBERNETES_DRIVER_NAME, type RolloutRecord } from './rollout-record.js';
