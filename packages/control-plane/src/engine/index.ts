/**
 * The deployment engine: a deploy file run as a state machine stored in the database, driven by
 * a pure state machine (`machine.ts`, `step`) and re-driven from the store after any restart.
 */

export type { EnginePeers } from './decision-router.js';
export { DECISION_ACTIONS, type DecisionAction } from './decisions.js';
export { createEngine, type Engine, type EngineOptions } from './engine.js';
export {
  type ApplicationHistory,
  applicationHistory,
  imagesOf,
  type Revision,
  revisionOf,
  rollbackSpec,
} from './history.js';
export { outcomeOf } from './live-deployment.js';
export type {
  JudgmentOutcome,
  JudgmentRequest,
  JudgmentWindow,
  MetricJudge,
  QueryVerdict,
} from './metric-provider.js';
export { createSimulatedDriver, SIMULATED_DRIVER_NAME } from './simulated-driver.js';
export type {
  AnalysisView,
  DeploymentListEntry,
  DeploymentSummary,
  DeploymentView,
  EnvironmentView,
  JudgmentRunView,
  StepView,
  WebhookRunView,
} from './status-view.js';
export {
  type DriverContext,
  type StoredSpec,
  type TargetDriver,
  TargetDriverError,
  type TargetRef,
  type TargetVersion,
  type TargetView,
} from './target-driver.js';
export type {
  DriverOp,
  JudgmentRecord,
  RunOutcome,
  RunOutcomes,
  StartInput,
  StoredEvent,
} from './types.js';
export { DeploymentStatus, isFinal } from './types.js';
