import type { DeploymentKind, StoredSpec, TargetView } from '@borealis/deploy-spec';
import type { DriverOp } from './types.js';

export type { StoredSpec, TargetVersion, TargetView } from '@borealis/deploy-spec';
// The driver's refusal is shared with the planner in @borealis/deploy-spec (one class, so instanceof holds).
export { TargetDriverError } from '@borealis/deploy-spec';

/** Which rollout a driver action belongs to. */
export interface TargetRef {
  application: string;
  environment: string;
  deploymentId: string;
  /** The version this deployment rolls out (a label derived from the deployment id). */
  version: string;
  account?: string;
  namespace?: string;
}

/** What an action may need beyond the target: the deploy file, time, cancellation, progress. */
export interface DriverContext {
  spec: StoredSpec;
  /** Aborted when the step is no longer wanted (the environment rolls back, is cancelled). */
  signal: AbortSignal;
  /** When the rollout must be done (`deploymentConfig.timeout`); absent for a rollback. */
  deadlineAt?: number;
  /** Progress for people (`web: 2/4 available`); the engine shows the latest on the step. */
  progress(message: string): void;
}

/**
 * Where versions actually run. Every action must be idempotent: after a crash the engine
 * re-applies the action it had recorded as started, without knowing whether it completed.
 */
export interface TargetDriver {
  readonly name: string;
  /**
   * The deploy-file kinds this driver deploys (default: kubernetes). A deployment of another
   * kind is refused at start with one error that says so.
   */
  readonly kinds?: readonly DeploymentKind[];
  /** Resolves when done, optionally with a line for people; rejects as described above. */
  // biome-ignore lint/suspicious/noConfusingVoidType: the simulated driver's actions return nothing.
  apply(target: TargetRef, op: DriverOp, context?: DriverContext): Promise<void | { message?: string }>;
  /** The driver a deployment runs on, when it depends on the deployment (the `auto` choice). */
  nameFor?(deploymentId: string): Promise<string>;
  /** What runs in an environment now, for the status view. */
  describe(application: string, environment: string): Promise<TargetView | undefined>;
}
