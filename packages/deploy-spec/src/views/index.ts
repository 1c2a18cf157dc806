/**
 * The API's answers as clients read them (deployments, history, audit, metric providers) and the
 * deployment statuses with the final ones. Types and constants only: no server code.
 */
export type {
  AnalysisView,
  ApplicationHistory,
  AuditEntryView,
  DeploymentListEntry,
  DeploymentSummary,
  DeploymentView,
  EnvironmentView,
  JudgmentRunView,
  QueryVerdict,
  Revision,
  StepView,
  TargetVersion,
  TargetView,
  WebhookRunView,
} from './deployment-views.js';
export type { MetricProviderAnswer, MetricProviderView } from './metric-provider-view.js';
export { DeploymentStatus, type EnvironmentStatus, FINAL_STATUSES, isFinal } from './statuses.js';
