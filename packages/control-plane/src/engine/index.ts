/**
 * The deployment engine: a parsed deploy file (the API parses it) run as a state machine stored
 * in the database, stepped by a pure function (`machine.ts`, `step`) and re-driven from the store
 * after any restart. `engine.ts` is the driving loop; beside it `admission.ts` (what may start,
 * what waits), `transition-writer.ts` (every change written under the row's version, then
 * announced), `effect-runner.ts` (driver, webhooks, judgments), `lease-keeper.ts` (who drives
 * what) and `decision-router.ts` (people's decisions, here or on the driving replica). Run
 * outcomes arrive through one port, `RunOutcomes`.
 */

export type {
  AnalysisView,
  DeploymentListEntry,
  DeploymentSummary,
  DeploymentView,
  EnvironmentView,
  JudgmentRunView,
  StepView,
  WebhookRunView,
} from '@borealis/deploy-spec'; // the API's deployment views, declared where clients read them
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
