/** Row shapes of the deployment engine's tables (migration 0010). JSON columns are text. */

export interface DeploymentsTable {
  id: string;
  application: string;
  /** QUEUED, RUNNING, PAUSED, AWAITING_APPROVAL, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK. */
  status: string;
  /** The application while this deployment runs, else NULL; unique, so one runs at a time. */
  active_application: string | null;
  /** The validated DeploymentSpec as JSON. */
  spec: string;
  /** Start-time context (`--context k=v`) as JSON. */
  context: string;
  /** Deployment-level engine state (cancellation requests and the like) as JSON. */
  state: string;
  message: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** Earliest stored deadline (pause end, approval expiry, rollout timeout), for the scheduler. */
  wake_at: number | null;
  /** Which control-plane replica drives this deployment, and until when. */
  lease_owner: string | null;
  lease_expires_at: number | null;
  /** Optimistic concurrency: every transition bumps it and requires the value it read. */
  version: number;
}

export interface DeploymentEnvironmentsTable {
  deployment_id: string;
  name: string;
  status: string;
  phase: string;
  /** Per-item progress of this environment as JSON. */
  state: string;
  message: string | null;
  started_at: number | null;
  finished_at: number | null;
}

export interface DeploymentEventsTable {
  deployment_id: string;
  /** 1, 2, 3... per deployment: the SSE event id. */
  seq: number;
  at: number;
  type: string;
  environment: string | null;
  data: string;
}

export interface AuditLogTable {
  id: string;
  at: number;
  /** The API token's name. */
  who: string;
  action: string;
  deployment_id: string | null;
  environment: string | null;
  details: string;
  /** Why, as the person said it (`--reason`). */
  reason: string | null;
  /** The caller's address (X-Forwarded-For only from BOREALIS_TRUSTED_PROXIES). */
  source: string | null;
  /** Which token was used (names need not be unique). */
  token_id: string | null;
}

export interface SimulatedTargetsTable {
  application: string;
  environment: string;
  /** Versions and weights the simulated driver keeps, as JSON. */
  state: string;
  updated_at: number;
}
