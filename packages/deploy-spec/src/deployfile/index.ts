/**
 * Deploy files: parse, validate and normalise. `parseDeployFile` returns the typed spec (defaults
 * applied, canonical spellings) and every diagnostic with line and column; `formatDiagnostics`
 * prints them compiler-style for the CLI and logs. `agentFor` is the one rule for which agent a
 * webhook call goes through.
 */

export { type WebhookCallSite, webhookCallSites } from './call-sites.js';
export { DiagnosticCatalogue, type DiagnosticCode } from './codes.js';
export { type Diagnostic, formatDiagnostics } from './diagnostic.js';
export { type ParseOptions, type ParseResult, parseDeployFile } from './parse-deploy-file.js';
export { MAX_DEPLOY_FILE_BYTES } from './read-source.js';
export { deployFileReference } from './reference.js';
export { agentFor, suggestIdentifier } from './routing.js';
export { KINDS, slugOf } from './schema.js';
export { MAX_RETRY_COUNT, MIN_DEPLOYMENT_TIMEOUT_MS } from './schema-primitives.js';
export type {
  AfterDeploymentStep,
  AnalysisMode,
  AnalysisQuerySpec,
  AnalysisStep,
  BlueGreenStep,
  BlueGreenStrategy,
  CanaryStep,
  CanaryStrategy,
  ConstraintStep,
  DeploymentKind,
  DeploymentSpec,
  Duration,
  ExposeServicesStep,
  HttpMethod,
  LambdaArtifactSpec,
  LambdaProviderOptionsSpec,
  ManifestSpec,
  NetworkMode,
  PauseStep,
  RunWebhookStep,
  SetWeightStep,
  StrategySpec,
  TargetSpec,
  TimeUnit,
  WebhookHeader,
  WebhookSpec,
} from './spec-types.js';
export { HTTP_METHODS, NETWORK_MODES, TIME_UNITS } from './spec-types.js';
