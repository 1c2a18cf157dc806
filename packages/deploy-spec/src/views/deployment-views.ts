/**
 * What the control plane's API answers about deployments, as the CLI, the web UI and scripts read
 * it: summaries, the full view with environments, steps, webhook runs and judgment runs, the
 * target's versions, the audit entries and the application history. The control plane builds
 * these; both sides compile against this one declaration.
 */

export interface DeploymentSummary {
  id: string;
  application: string;
  /** What it deploys, for people: the `version` context, else the manifests' image tag (see history). */
  version: string;
  status: string;
  message: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface StepView {
  location: string;
  step: string;
  status: 'pending' | 'running' | 'waiting' | 'succeeded' | 'skipped' | 'failed' | 'cancelled';
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  deadlineAt?: string;
  /** What a person is asked for, and the command that gives it. */
  awaiting?: { decision: string; commands: string[] };
  decidedBy?: string;
  via?: string;
  /**
   * Approval pauses: the roles that may approve (any one of them; admin always may). Empty: the
   * deployer role, as for any other decision.
   */
  requiresRoles?: string[];
  /** Analysis steps: how they judge, and every judgment run so far. */
  analysis?: AnalysisView;
}

export interface AnalysisView {
  interval: string;
  numberOfJudgmentRuns: number;
  lookbackMethod: 'growing' | 'sliding';
  rollBackMode: string;
  rollForwardMode: string;
  abortOnFailedJudgment: boolean;
  queries: string[];
  nextJudgmentAt?: string;
  runs: JudgmentRunView[];
}

export interface JudgmentRunView {
  /** 1-based, as people count. */
  run: number;
  verdict: 'passed' | 'failed';
  scheduledAt: string;
  at: string;
  window: { start: string; end: string };
  message: string;
  /** Per query: the value it returned, its limits, its verdict (and the agent that carried it). */
  queries: QueryVerdict[];
}

export interface WebhookRunView {
  id: string;
  location: string;
  webhookName: string;
  status: string;
  callId: string;
  attempts: number;
  agent?: { agentIdentifier: string; instanceId: string };
  mdMessage?: string;
  reason?: string;
  /** While the run waits for an agent of its identifier to connect (it has made no call yet). */
  waiting?: { agentIdentifier: string; since: string; until: string; message: string };
  createdAt: string;
  settledAt?: string;
  deadlineAt: string;
}

export interface EnvironmentView {
  name: string;
  status: string;
  phase: string;
  dependsOn: string[];
  strategy: string | null;
  message: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  steps: StepView[];
  webhookRuns: WebhookRunView[];
  /** What runs there now, as the target driver sees it (versions and traffic weights). */
  target: TargetView | null;
}

/** A deployment as listed: its summary and each environment's status, in deploy-file order. */
export interface DeploymentListEntry extends DeploymentSummary {
  environments: Array<{ name: string; status: string }>;
}

export interface DeploymentView extends DeploymentSummary {
  driver: string;
  environments: EnvironmentView[];
  /** This deployment's audit entries, oldest first: who started it, who decided what, and why. */
  audit: AuditEntryView[];
}

export interface TargetVersion {
  version: string;
  deploymentId: string;
  /** Share of traffic, 0..100. */
  weight: number;
  role: 'active' | 'canary' | 'preview';
  /** Drivers that run pods: desired and available replicas of this version, and its workloads. */
  replicas?: number;
  availableReplicas?: number;
  workloads?: string[];
}

export interface TargetView {
  driver: string;
  versions: TargetVersion[];
  exposedServices: string[];
  /** Where it runs (a driver's words: `namespace shop through agent prod-eu`). */
  location?: string;
}

/** One query's part of a judgment run: what it asked, what came back, and whether it passed. */
export interface QueryVerdict {
  query: string;
  provider?: string;
  /** Set when the query yielded its one number. */
  value?: number;
  lowerLimit?: number;
  upperLimit?: number;
  passed: boolean;
  message: string;
  /** The agent that carried the query, when one did. */
  via?: string;
}

/** One entry as the API answers it. */
export interface AuditEntryView {
  id: string;
  at: string;
  /** The token's name; `borealis` for what the control plane decided itself. */
  actor: string;
  tokenId: string | null;
  action: string;
  deploymentId: string | null;
  environment: string | null;
  reason: string | null;
  source: string | null;
  details: Record<string, unknown>;
}

export interface Revision {
  /** 1, 2, 3… per application and environment, in the order they were deployed. */
  revision: number;
  version: string;
  images: string[];
  deploymentId: string;
  deployedAt: string;
  startedBy: string;
  /** Who approved this environment's manual approvals in that deployment (from the audit log). */
  approvedBy: string[];
  /** Set when this revision was itself a rollback. */
  rollbackOf?: { revision: number; deploymentId: string };
}

export interface ApplicationHistory {
  application: string;
  environments: Array<{ name: string; current: number | null; revisions: Revision[] }>;
}
