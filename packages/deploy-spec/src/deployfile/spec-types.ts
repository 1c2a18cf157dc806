/**
 * The deploy file after validation: defaults applied, canonical spellings only, steps as
 * discriminated unions. What the user writes is described by schema.ts; this is what the rest
 * of the control plane reads.
 */

export const TIME_UNITS = ['seconds', 'minutes', 'hours'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

export interface Duration {
  duration: number;
  unit: TimeUnit;
  /** The same span in milliseconds, so nobody converts units twice. */
  ms: number;
}

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const NETWORK_MODES = ['direct', 'remoteNetworkAgent'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export interface WebhookHeader {
  key: string;
  value: string;
}

export interface WebhookSpec {
  name: string;
  /** Upper case. */
  method: HttpMethod;
  uriTemplate: string;
  networkMode: NetworkMode;
  agentIdentifier?: string;
  headers: WebhookHeader[];
  bodyTemplate?: { inline: string };
  retryCount: number;
  disableCallback: boolean;
  /** Name of the secret whose value signs requests (Standard Webhooks); not the secret itself. */
  signingSecret?: string;
}

export interface RunWebhookStep {
  type: 'runWebhook';
  name: string;
  context: Record<string, string>;
}

export type PauseStep =
  | { type: 'pause'; untilApproved: false; duration: Duration }
  | { type: 'pause'; untilApproved: true; requiresRoles: string[]; approvalExpiration?: Duration };

export type AnalysisMode = 'manual' | 'automatic';

export interface AnalysisStep {
  type: 'analysis';
  metricProviderName?: string;
  context: Record<string, string>;
  interval: number;
  /** Canonical spelling (`unit` is accepted too). */
  units: TimeUnit;
  numberOfJudgmentRuns: number;
  rollBackMode: AnalysisMode;
  rollForwardMode: AnalysisMode;
  queries: string[];
  lookbackMethod?: 'growing' | 'sliding';
  abortOnFailedJudgment?: boolean;
}

export interface SetWeightStep {
  type: 'setWeight';
  weight: number;
}

export interface ExposeServicesStep {
  type: 'exposeServices';
  services: string[];
  ttl?: Duration;
}

export type ConstraintStep = PauseStep | RunWebhookStep;
export type AfterDeploymentStep = PauseStep | RunWebhookStep | AnalysisStep;
export type CanaryStep = SetWeightStep | PauseStep | RunWebhookStep | AnalysisStep | ExposeServicesStep;
export type BlueGreenStep = PauseStep | RunWebhookStep | AnalysisStep | ExposeServicesStep;

export interface CanaryStrategy {
  type: 'canary';
  steps: CanaryStep[];
}

export interface BlueGreenStrategy {
  type: 'blueGreen';
  /**
   * Absent when `trafficManagement[].kubernetes[].activeService` names the service for every
   * target that uses this strategy (Armory's current guide writes it only there).
   */
  activeService?: string;
  previewService?: string;
  redirectTrafficAfter: BlueGreenStep[];
  /** Canonical spelling (`shutdownOldVersionAfter` is accepted too). */
  shutDownOldVersionAfter: BlueGreenStep[];
}

export type StrategySpec = CanaryStrategy | BlueGreenStrategy;

export interface TargetSpec {
  /** As written (any text, e.g. `prod-apac (canary-istio)`); shown to people. */
  name: string;
  /** `name` as a Kubernetes label value / URL part (see `slugOf`). */
  slug: string;
  account?: string;
  namespace?: string;
  strategy?: string;
  /** kind: lambda: the role Borealis would assume, and the AWS region. */
  deployAsIamRole?: string;
  region?: string;
  constraints: {
    dependsOn: string[];
    beforeDeployment: ConstraintStep[];
    afterDeployment: AfterDeploymentStep[];
  };
}

export type ManifestSpec = { path: string; targets?: string[] } | { inline: string; targets?: string[] };

export interface AnalysisQuerySpec {
  name: string;
  queryTemplate: string;
  upperLimit?: number;
  lowerLimit?: number;
  metricProviderName?: string;
}

export type DeploymentKind = 'kubernetes' | 'lambda';

export interface LambdaArtifactSpec {
  functionName: string;
  path: string;
  type: 'zipFile';
}

export interface LambdaProviderOptionsSpec {
  name: string;
  target: string;
  runAsIamRole: string;
  handler: string;
  runtime: string;
}

export interface DeploymentSpec {
  /** Always `v1`: other values Armory tolerated (`apps/v1`) are read as v1, with a warning. */
  version: 'v1';
  kind: DeploymentKind;
  /** As written (any non-empty text, e.g. `Potato Facts`); shown to people. */
  application: string;
  /** `application` as a Kubernetes label value / URL part (see `slugOf`). */
  applicationSlug: string;
  description?: string;
  deploymentConfig: {
    timeout: Duration;
    ifDeploymentInProgress: { strategy: 'reject' | 'enqueueOne' };
    keepDeploymentObject?: boolean;
  };
  /** In file order. */
  targets: Record<string, TargetSpec>;
  manifests: ManifestSpec[];
  /** kind: lambda only. */
  artifacts?: LambdaArtifactSpec[];
  providerOptions?: { lambda?: LambdaProviderOptionsSpec[] };
  strategies: Record<string, StrategySpec>;
  analysis: { defaultMetricProviderName?: string; queries: AnalysisQuerySpec[] };
  webhooks: WebhookSpec[];
  /** Accepted and stored as written; acted on by target drivers that support it. */
  trafficManagement: Array<{ targets?: string[] } & Record<string, unknown>>;
  context: Record<string, string>;
}
