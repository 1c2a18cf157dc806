import type { WebhookSpec } from '@borealis/deploy-spec';

/**
 * The contract between the engine and the webhooks concern. The engine decides WHEN a webhook
 * runs and what its outcome means for the deployment; `webhooks/` owns HOW: recording the run,
 * rendering, routing by networkMode (direct or through an agent), retries, the callback, and the
 * deadline. Everything here is durable: a run is in the store before anything is called.
 */

/** Where in a deployment a webhook runs; (deploymentId, environment, location) is unique. */
export interface WebhookInvocation {
  deploymentId: string;
  /** Target (environment) name. */
  environment: string;
  /**
   * Where in the deploy file: e.g. `constraints.beforeDeployment[0]`,
   * `constraints.afterDeployment[1]`, `strategy.steps[3]`, `strategy.redirectTrafficAfter[1]`.
   */
  location: string;
  webhook: WebhookSpec;
  /** `{{context.*}}`: already merged by the engine (file < start-time < runWebhook.context). */
  context: Record<string, string>;
  /** `{{armory.*}}` / `{{borealis.*}}` except callbackUri, which webhooks/ fills in. */
  armory: {
    deploymentId: string;
    applicationName: string;
    environmentName: string;
    accountName: string;
    namespace: string;
    replicaSetName: string;
  };
  /** The target's `account`: the agent identifier when the webhook names none. */
  account?: string;
}

export const WebhookRunStatus = {
  /** Recorded; the call has not been made yet (or is being retried). */
  pending: 'pending',
  /** Called; waiting for `POST /callbacks/:token/callback`. */
  awaitingCallback: 'awaiting_callback',
  succeeded: 'succeeded',
  failed: 'failed',
  /** The engine no longer needs it (a sibling failed, the deployment was cancelled). */
  cancelled: 'cancelled',
} as const;
export type WebhookRunStatus = (typeof WebhookRunStatus)[keyof typeof WebhookRunStatus];

/** The statuses a run can still leave: it may yet be called, called back, expire or be cancelled. */
export const UNSETTLED = [WebhookRunStatus.pending, WebhookRunStatus.awaitingCallback] as const;

export function isUnsettled(status: string): boolean {
  return status === WebhookRunStatus.pending || status === WebhookRunStatus.awaitingCallback;
}

export interface WebhookAttempt {
  attempt: number;
  startedAt: number;
  durationMs: number;
  /** HTTP status the endpoint answered, when it answered. */
  status?: number;
  /** BRL_ERR_* code when the call could not be made or was refused. */
  errorCode?: string;
  message?: string;
  /** Which agent connection carried it (networkMode remoteNetworkAgent). */
  agent?: { agentIdentifier: string; instanceId: string; sessionId: string };
  /**
   * The answer, when there was one: its headers and the first KiB of its body, secret values
   * masked and credential-bearing headers (set-cookie, authorization, ...) hidden.
   */
  response?: { headers: Array<[string, string]>; bodyStart: string };
  /** When this attempt was followed by a retry: when the next one was due, and why it was made. */
  retry?: { at: number; reason: string };
}

/** What `adoptMany` answers of a run: its outcome, not its request or attempts. */
export type AdoptedRun = Pick<
  WebhookRun,
  'id' | 'deploymentId' | 'environment' | 'location' | 'status' | 'reason' | 'callback'
>;

export interface WebhookRun {
  id: string;
  deploymentId: string;
  environment: string;
  location: string;
  webhookName: string;
  status: WebhookRunStatus;
  /** Same on every retry, sent as `webhook-id` so receivers can de-duplicate. */
  callId: string;
  attempts: WebhookAttempt[];
  deadlineAt: number;
  /** The rendered request with secrets masked, for people debugging a run. */
  request?: { method: string; url: string; headers: Array<[string, string]>; body?: string };
  /** `from`: the address the callback came from (as the server saw it, behind trustProxy rules). */
  callback?: { success: boolean; mdMessage?: string; receivedAt: number; from?: string };
  /** Why it failed or was cancelled, in words a person can act on. */
  reason?: string;
  /** The BRL_ERR_* code of `reason`, for programs (never match on the reason's text). */
  reasonCode?: string;
  /** When the next attempt is due, while a retry is scheduled. */
  nextAttemptAt?: number;
  /**
   * While a `remoteNetworkAgent` run finds no agent for its identifier: which one it waits for,
   * since when, and when it gives up (BOREALIS_AGENT_WAIT, never past `deadlineAt`). Waiting is
   * not an attempt: `retryCount` counts calls that were made and failed.
   */
  waitingForAgent?: { agentIdentifier: string; since: number; until: number };
  createdAt: number;
  settledAt?: number;
}

export interface WebhookService {
  /**
   * Records the run (pending, deadline = now + callback timeout) BEFORE calling, then calls in
   * the background. Idempotent on (deploymentId, environment, location): starting it again
   * returns the existing run and calls nothing.
   */
  start(invocation: WebhookInvocation): Promise<WebhookRun>;
  /**
   * At deployment start: when `uriTemplate` starts with a secret or context variable (its value
   * is the base URL), checks that value's scheme and host now, where secrets and context are
   * known, and throws BRL_ERR_TEMPLATE_INVALID_URI naming the variable. A value not there yet
   * (a secret created later) is left to the call. Optional: fakes need not implement it.
   */
  preflightUri?(
    webhook: Pick<WebhookSpec, 'name' | 'uriTemplate'>,
    context: Readonly<Record<string, string>>,
  ): Promise<void>;
  /** Settles a run that is not settled yet as cancelled (no effect on settled runs). */
  cancel(runId: string, reason: string): Promise<void>;
  get(runId: string): Promise<WebhookRun | undefined>;
  find(deploymentId: string, environment: string, location: string): Promise<WebhookRun | undefined>;
  listForDeployment(deploymentId: string): Promise<WebhookRun[]>;
  /**
   * Runs once at start: calls made before a crash whose outcome is unknown are made again with
   * the same callId; runs past their deadline fail; deadline timers are set for the rest.
   */
  resume(): Promise<void>;
  /**
   * Takes up the unsettled runs of one deployment this process has just started to drive (a
   * lease taken over from a replica that died): deadline timers are set, and a call whose outcome
   * is unknown, or a scheduled retry, is made here (same callId). Idempotent: runs this process
   * already drives are left alone.
   */
  adopt(deploymentId: string): Promise<void>;
  /**
   * `adopt` for many deployments at once (one read, resuming at start-up), answering every run
   * of theirs, settled or not, so the engine learns their outcomes from the same read.
   */
  adoptMany(deploymentIds: readonly string[]): Promise<AdoptedRun[]>;
  /** The engine's wake-up: called after any run settles (succeeded, failed, cancelled). */
  onSettled(listener: (run: WebhookRun) => void): void;
  /**
   * Stopping: starts no new attempt, lets calls in flight finish and record their outcome until
   * `deadlineAt` (epoch ms), then closes (calls still in flight are made again after a restart or
   * by the replica that takes their deployment over, with the same webhook-id).
   */
  drain(deadlineAt: number): Promise<void>;
  close(): Promise<void>;
}
