/**
 * What a deploy file does to a Kubernetes cluster, as pure functions of the spec and its manifest
 * files: the objects each environment gets (labels, versioned Deployments, pinned Services,
 * traffic objects) and `deploy plan`'s list of API calls. The control plane's kubernetes driver
 * applies the same objects through the agent; `borealis deploy plan` prints them offline.
 */
export {
  type OldVersion,
  type RolloutMode,
  type StoredSpec,
  TargetDriverError,
  type Workload,
} from './contracts.js';
export { blueGreenOf, deployObjects, modeOf, withoutReplaced, workloadSelector } from './deploy-objects.js';
export * from './objects.js';
export {
  type ApiCall,
  applyCall,
  type EnvironmentPlan,
  formatPlan,
  PLANNED_DEPLOYMENT_ID,
  PLANNED_VERSION,
  type PlannedCall,
  planDeployment,
} from './plan.js';
export { trafficObjects } from './traffic.js';
