export {
  type Diagnostic,
  deployFileReference,
  formatDiagnostics,
  parseDeployFile,
} from '@borealis/deploy-spec';
export type { AuditEntryView } from './audit/index.js';
export {
  type CompiledControlPlaneOptions,
  type CompiledOptions,
  type ControlPlaneOptions,
  compileControlPlaneOptions,
  compileOptions,
  controlPlaneOptionsFromEnv,
  OptionEnv,
  optionsFromEnv,
} from './control-plane-options.js';
export type {
  ApplicationHistory,
  DeploymentListEntry,
  DeploymentSummary,
  DeploymentView,
  EnvironmentView,
  JudgmentRecord,
  QueryVerdict,
  StepView,
} from './engine/index.js';
export { BorealisError, ErrorCatalogue, type ErrorCode, isBorealisError } from './errors.js';
export { type EnvironmentPlan, formatPlan, type PlannedCall, planDeployment } from './kubernetes/index.js';
export type { AgentGroup, Dispatcher, DispatchRequest, DispatchResponse } from './relay/index.js';
export { type ControlPlane, type CreateControlPlaneOptions, createControlPlane } from './server.js';
