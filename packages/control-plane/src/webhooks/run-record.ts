import type { WebhookRunOutcomeRow, WebhookRunRow } from '../store/index.js';
import type { AdoptedRun, WebhookAttempt, WebhookInvocation, WebhookRun, WebhookRunStatus } from './types.js';

/** What a run row keeps of the invocation: everything needed to render the call again after a restart. */
export type StoredInvocation = Pick<WebhookInvocation, 'webhook' | 'context' | 'armory' | 'account'>;

export function storedInvocation(invocation: WebhookInvocation): string {
  const stored: StoredInvocation = {
    webhook: invocation.webhook,
    context: { ...invocation.context },
    armory: invocation.armory,
    ...(invocation.account === undefined ? {} : { account: invocation.account }),
  };
  return JSON.stringify(stored);
}

export function parseInvocation(row: WebhookRunRow): StoredInvocation {
  return JSON.parse(row.invocation) as StoredInvocation;
}

export function parseAttempts(row: WebhookRunRow): WebhookAttempt[] {
  return JSON.parse(row.attempts) as WebhookAttempt[];
}

/** The run as the engine, the API and people see it. */
export function toWebhookRun(row: WebhookRunRow): WebhookRun {
  const run: WebhookRun = {
    id: row.id,
    deploymentId: row.deployment_id,
    environment: row.environment,
    location: row.location,
    webhookName: row.webhook_name,
    status: row.status as WebhookRunStatus,
    callId: row.call_id,
    attempts: parseAttempts(row),
    deadlineAt: row.deadline_at,
    createdAt: row.created_at,
  };
  if (row.request !== null) run.request = JSON.parse(row.request) as NonNullable<WebhookRun['request']>;
  if (row.callback !== null) run.callback = JSON.parse(row.callback) as NonNullable<WebhookRun['callback']>;
  if (row.reason !== null) run.reason = row.reason;
  if (row.reason_code !== null) run.reasonCode = row.reason_code;
  if (row.next_attempt_at !== null) run.nextAttemptAt = row.next_attempt_at;
  if (row.waiting)
    run.waitingForAgent = JSON.parse(row.waiting) as NonNullable<WebhookRun['waitingForAgent']>;
  if (row.settled_at !== null) run.settledAt = row.settled_at;
  return run;
}

/** `toWebhookRun` of the columns `adoptMany` reads: the run's outcome. */
export function toAdoptedRun(row: WebhookRunOutcomeRow): AdoptedRun {
  const run: AdoptedRun = {
    id: row.id,
    deploymentId: row.deployment_id,
    environment: row.environment,
    location: row.location,
    status: row.status as WebhookRunStatus,
  };
  if (row.callback !== null) run.callback = JSON.parse(row.callback) as NonNullable<WebhookRun['callback']>;
  if (row.reason !== null) run.reason = row.reason;
  return run;
}
