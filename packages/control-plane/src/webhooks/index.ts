/**
 * Webhooks: record a run, render the call, route it directly (behind the SSRF guard) or through
 * an agent, retry what could not be made, take the callback, enforce the deadline. The engine
 * uses `WebhookService`; the server wires the routes.
 */

export { describeNetworkError, errorCode } from './call-endpoint.js';
export { CALLBACK_BODY_LIMIT, registerCallbackRoutes } from './callback-routes.js';
export { type CallbackAnswer, MAX_MD_MESSAGE_BYTES } from './callbacks.js';
export type { SecretLookup } from './prepare-request.js';
export { DEFAULT_CALLBACK_RATE_LIMIT, type RateLimitOptions } from './rate-limiter.js';
export { registerWebhookRunRoutes } from './run-routes.js';
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
