import type { AnalysisStep, DeploymentSpec, EnvironmentStatus, RunWebhookStep } from '@borealis/deploy-spec';
import type { JudgmentOutcome, JudgmentWindow, QueryVerdict } from './metric-provider.js';

// Statuses people see, and the final ones: declared with the API's views in @borealis/deploy-spec.
export { DeploymentStatus, type EnvironmentStatus, FINAL_STATUSES, isFinal } from '@borealis/deploy-spec';

/** Where an environment stands in its life. */
export const Phase = {
  waiting: 'waiting',
  beforeDeployment: 'beforeDeployment',
  strategy: 'strategy',
  afterDeployment: 'afterDeployment',
  rollingBack: 'rollingBack',
  done: 'done',
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export type ItemKind = 'webhook' | 'pause' | 'approval' | 'analysis' | 'driver';
export type ItemStatus = 'running' | 'waiting' | 'succeeded' | 'skipped' | 'failed' | 'cancelled';
/** What a person is asked for when an item waits on one. */
export type Awaiting = 'approval' | 'rollbackOrRollForward' | 'rollForward';

/** Progress of one item (constraint, strategy step, or driver action) once it has started. */
export interface ItemState {
  location: string;
  kind: ItemKind;
  status: ItemStatus;
  startedAt: number;
  finishedAt?: number;
  /** Timed pause end, approval expiry. */
  deadlineAt?: number;
  awaiting?: Awaiting;
  message?: string;
  decidedBy?: string;
  /** Analysis: judgment runs recorded so far and when the next one is due (stored, not a timer). */
  judgments?: JudgmentRecord[];
  nextJudgmentAt?: number;
}

export interface EnvironmentState {
  name: string;
  status: EnvironmentStatus;
  phase: Phase;
  startedAt?: number;
  finishedAt?: number;
  message?: string;
  /** `deploymentConfig.timeout` for this rollout; time spent waiting on people is added back. */
  rolloutDeadlineAt?: number;
  /** Where the environment ends once the rollback action is done. */
  outcome?: { status: EnvironmentStatus; message: string };
  /** A person asked for a rollback (applied by the next step). */
  rollbackRequestedBy?: string;
  items: Record<string, ItemState>;
}

export interface DeploymentState {
  /** A person cancelled the whole deployment. */
  cancel?: { by: string; reason: string; at: number };
  /** Environments a person cancelled one by one. */
  cancelEnvironments?: Record<string, { by: string; reason: string }>;
  environments: Record<string, EnvironmentState>;
}

/** One judgment run as stored: when it was due and made, the window it asked about, each query's verdict. */
export interface JudgmentRecord {
  index: number;
  /** When the run was due (its window ends here). */
  scheduledAt: number;
  /** When its verdict was recorded. */
  at: number;
  window: JudgmentWindow;
  passed: boolean;
  message: string;
  queries: QueryVerdict[];
}

/** What the deciding function asks the engine to do once the new state is stored. */
export type Effect =
  | { type: 'startWebhook'; environment: string; location: string; step: RunWebhookStep }
  | { type: 'cancelWebhook'; environment: string; location: string; reason: string }
  | { type: 'driver'; environment: string; location: string; op: DriverOp }
  | { type: 'cancelDriver'; environment: string; location: string }
  | {
      type: 'judge';
      environment: string;
      location: string;
      index: number;
      step: AnalysisStep;
      window: JudgmentWindow;
    };

/** Target-driver actions; each is idempotent so that it can be re-applied after a crash. */
export type DriverOp =
  | { op: 'deploy'; mode: 'canary' | 'blueGreen' | 'replace' }
  | { op: 'setWeight'; weight: number }
  | { op: 'moveTraffic' }
  | { op: 'shutDownOld' }
  | { op: 'exposeServices'; services: string[] }
  | { op: 'rollback' };

/** One recorded transition, as the audit trail and the SSE stream carry it. */
export interface EngineEvent {
  type: string;
  environment?: string;
  data: Record<string, unknown>;
}

/** What the machine's `step` needs to know from outside the state: time and the outcomes of effects. */
export interface Facts {
  now: number;
  webhookRun(environment: string, location: string): WebhookFact | undefined;
  driverDone(environment: string, location: string): boolean;
  /** Why a driver action failed for good (the API's words), if it did. */
  driverFailure(environment: string, location: string): string | undefined;
  /** The latest progress line of a driver action, or the line it finished with. */
  driverProgress(environment: string, location: string): string | undefined;
  /** The verdict of judgment run `index`, once the metric judge has given it. */
  judgment(environment: string, location: string, index: number): JudgmentOutcome | undefined;
}

export interface WebhookFact {
  id: string;
  status: 'pending' | 'awaiting_callback' | 'succeeded' | 'failed' | 'cancelled';
  reason?: string;
  mdMessage?: string;
}

/** A webhook run's outcome as the engine learns it: which step of which deployment, and how it went. */
export interface RunOutcome extends WebhookFact {
  deploymentId: string;
  environment: string;
  location: string;
}

/**
 * The one channel by which run outcomes reach the engine: fed by this replica's webhook service
 * and, scaled out, by the cluster bus with runs settled on other replicas.
 */
export interface RunOutcomes {
  subscribe(listener: (outcome: RunOutcome) => void): void;
}

/** One stored event of a deployment, as `events()` and the live stream hand it out. */
export interface StoredEvent {
  seq: number;
  at: number;
  type: string;
  environment?: string;
  data: Record<string, unknown>;
}

/** What `Engine.start` needs: a parsed deploy file (the API parses it) and who asks. */
export interface StartInput {
  spec: DeploymentSpec;
  context?: Record<string, string>;
  /** Who asked (the API token's name). */
  createdBy: string;
  /** For the audit log: the caller's address and the token's id. */
  source?: string;
  tokenId?: string | null;
  /** Contents of the deploy file's `manifests[].path` files, keyed by the path as written. */
  manifestFiles?: Record<string, string>;
}
