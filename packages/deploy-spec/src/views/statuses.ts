/** Statuses people see, for a deployment and for each of its environments. */
export const DeploymentStatus = {
  queued: 'QUEUED',
  running: 'RUNNING',
  paused: 'PAUSED',
  awaitingApproval: 'AWAITING_APPROVAL',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
  rolledBack: 'ROLLED_BACK',
} as const;
export type DeploymentStatus = (typeof DeploymentStatus)[keyof typeof DeploymentStatus];

/** Environments also start as PENDING (waiting for `dependsOn`). */
export type EnvironmentStatus = DeploymentStatus | 'PENDING';

/** The statuses a deployment (or environment) ends in: nothing changes it after one of these. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set([
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'ROLLED_BACK',
]);
export const isFinal = (status: string): boolean => FINAL_STATUSES.has(status);
