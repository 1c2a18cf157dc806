/**
 * Webhooks: record a run, render the call, route it directly (behind the SSRF guard) or through
 * an agent, retry what could not be made, take the callback, enforce the deadline. The engine
 * uses `WebhookService`; the doors in front are `api/callback-routes.ts` (callbacks, public) and
 * `api/run-routes.ts` (a run as people debug it).
 * - `webhook-service.ts`: the run ledger (start, settle once, tell the engine, resume, adopt).
 * - `run-timers.ts`: deadlines, scheduled retries, calls in flight: what this process holds.
 * - `prepare-request.ts`: secrets, signing key, the callback token's birth, the rendered request.
 * - `attempt.ts`: one attempt (agent wait in `agent-wait.ts`, routing, signing, recording);
 *   `attempt-outcome.ts` decides, purely, what follows it.
 * - `callers.ts`: the two `Caller`s, direct and through an agent; `network-errors.ts` words.
 * - `callbacks.ts`: the token coming back, the callback body, conflicts.
 */

export { type AcceptCallback, type CallbackAnswer, MAX_MD_MESSAGE_BYTES } from './callbacks.js';
export { describeNetworkError, errorCode } from './network-errors.js';
export type { SecretLookup } from './prepare-request.js';
export { createSsrfGuard, guardedConnector, type LookupAll, type SsrfGuard } from './ssrf-guard.js';
export {
  type WebhookAttempt,
  type WebhookInvocation,
  type WebhookRun,
  WebhookRunStatus,
  type WebhookService,
} from './types.js';
export {
  createWebhookService,
  type WebhookServiceDeps,
  type WebhookServiceOptions,
  type WebhookServiceWithCallbacks,
} from './webhook-service.js';
