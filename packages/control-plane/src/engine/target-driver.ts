import type { DeploymentKind } from '../deployfile/index.js';
import type { DriverOp } from './types.js';

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

export interface TargetVersion {
  version: string;
  deploymentId: string;
  /** Share of traffic, 0..100. */
  weight: number;
  role: 'active' | 'canary' | 'preview';
}

export interface TargetView {
  driver: string;
  versions: TargetVersion[];
  exposedServices: string[];
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
  apply(target: TargetRef, op: DriverOp): Promise<void>;
  /** What runs in an environment now, for the status view. */
  describe(application: string, environment: string): Promise<TargetView | undefined>;
}
