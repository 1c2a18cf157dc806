import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Dispatcher } from '../relay/index.js';
import type { Store, WebhookRunPatch } from '../store/index.js';
import { DEFAULT_AGENT_WAIT_MS } from './agent-wait.js';
import { createAttempts } from './attempt.js';
import { type BackoffOptions, DEFAULT_BACKOFF } from './backoff.js';
import { type AcceptCallback, createCallbackAcceptor } from './callbacks.js';
import { createRequestPreparer, createUriPreflight, type SecretLookup } from './prepare-request.js';
import { storedInvocation, toAdoptedRun, toWebhookRun } from './run-record.js';
import { createRunTimers, errorText, STORE_RETRY_MS } from './run-timers.js';
import type { LookupAll } from './ssrf-guard.js';
import {
  isUnsettled,
  UNSETTLED,
  type WebhookInvocation,
  type WebhookRun,
  WebhookRunStatus,
  type WebhookService,
} from './types.js';

/**
 * The run ledger: records runs, settles each exactly once, and tells the engine. The rooms it
 * wires together: `run-timers.ts` (deadlines, retries, what this process holds),
 * `prepare-request.ts` (secrets, the callback token, the rendered request), `attempt.ts` (one
 * call and what follows from it), `callbacks.ts` (the token coming back).
 */

export interface WebhookServiceOptions {
  /** How long a run may wait for its callback (BOREALIS_CALLBACK_TIMEOUT). */
  callbackTimeoutMs: number;
  /** Addresses or CIDRs direct webhooks may reach despite the SSRF guard (BOREALIS_DIRECT_ALLOW). */
  directAllow: readonly string[];
  /** Read at every call, not once: the public URL may only be known after `listen`. */
  publicUrl: () => string;
  /** Limit of one call, from sending to the answer's headers (default 30 s). */
  callTimeoutMs?: number;
  /**
   * How long a `remoteNetworkAgent` run waits for an agent of its identifier to connect before it
   * fails (BOREALIS_AGENT_WAIT; default 2 minutes, never past the run's deadline).
   */
  agentWaitMs?: number;
  /** Retry timing (defaults: base 1 s, cap 30 s, Retry-After honoured up to 60 s). */
  backoff?: Partial<BackoffOptions>;
  /** DNS for direct calls; tests inject one to play a rebinding resolver. */
  lookup?: LookupAll;
  connectTimeoutMs?: number;
}

export interface WebhookServiceDeps {
  store: Pick<Store, 'webhookRuns'>;
  dispatcher: Dispatcher;
  secrets: SecretLookup;
  logger: Logger;
  options: WebhookServiceOptions;
}

/** The service plus the door callbacks come in through (used by `registerCallbackRoutes`). */
export interface WebhookServiceWithCallbacks extends WebhookService {
  /**
   * Settles the run `token` belongs to. Throws BRL_ERR_CALLBACK_UNKNOWN (404), _INVALID (400, the
   * token stays usable) or _CONFLICT (409).
   */
  acceptCallback: AcceptCallback;
}

/** How often a settled run is announced again while reading it back fails (a few minutes). */
const NOTIFY_TRIES = 300;

export function createWebhookService(deps: WebhookServiceDeps): WebhookServiceWithCallbacks {
  const repo = deps.store.webhookRuns;
  const log = deps.logger.child({ component: 'webhooks' });
  const options = deps.options;
  const listeners: Array<(run: WebhookRun) => void> = [];
  let resumed = false;

  const timers = createRunTimers({ repo, log, settle, drive: (runId) => attempts.drive(runId) });
  const attempts = createAttempts({
    repo,
    dispatcher: deps.dispatcher,
    timers,
    settle,
    prepare: createRequestPreparer({ repo, secrets: deps.secrets, publicUrl: options.publicUrl }),
    log,
    options: {
      callTimeoutMs: options.callTimeoutMs ?? 30_000,
      agentWaitMs: options.agentWaitMs ?? DEFAULT_AGENT_WAIT_MS,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      directAllow: options.directAllow,
      ...(options.lookup ? { lookup: options.lookup } : {}),
      ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    },
  });
  const acceptCallback = createCallbackAcceptor({ repo, log, settle, expire: timers.expire });

  async function notify(runId: string): Promise<void> {
    const row = await repo.get(runId);
    if (!row) return;
    const run = toWebhookRun(row);
    for (const listener of listeners) {
      try {
        listener(run);
      } catch (err) {
        log.error({ runId, err: errorText(err) }, 'onSettled listener threw');
      }
    }
  }

  /** Moves an unsettled run to a final status exactly once; false if it had already settled. */
  async function settle(
    runId: string,
    status: WebhookRunStatus,
    patch: WebhookRunPatch,
    { stopCall = true }: { stopCall?: boolean } = {},
  ): Promise<boolean> {
    const now = Date.now();
    const changed = await repo.update(
      runId,
      { ...patch, status, next_attempt_at: null, waiting: null, settled_at: now, updated_at: now },
      UNSETTLED,
    );
    if (!changed) return false;
    timers.forget(runId, stopCall);
    log.info({ runId, status, reasonCode: patch.reason_code ?? undefined }, 'webhook run settled');
    await notifyOrRetry(runId);
    return true;
  }

  /**
   * The run is settled in the store; the engine (and, through it, the replica driving the
   * deployment) must hear of it even if reading it back fails now (found by the chaos run: a
   * callback taken just as the database link was cut left its deployment waiting for good).
   */
  async function notifyOrRetry(runId: string, tries = 0): Promise<void> {
    try {
      await notify(runId);
    } catch (err) {
      if (timers.closed || tries >= NOTIFY_TRIES) {
        log.error({ runId, err: errorText(err) }, 'webhook run settled, but telling the engine failed');
        return;
      }
      log.warn({ runId, err: errorText(err) }, 'webhook run settled; telling the engine again shortly');
      const timer = setTimeout(() => {
        timers.inBackground('notify', runId, () => notifyOrRetry(runId, tries + 1));
      }, STORE_RETRY_MS);
      timer.unref();
    }
  }

  const service: WebhookServiceWithCallbacks = {
    preflightUri: createUriPreflight(deps.secrets),

    async start(invocation: WebhookInvocation) {
      const now = Date.now();
      const { row, inserted } = await repo.insertIfAbsent({
        id: `whr_${randomBytes(12).toString('hex')}`,
        deployment_id: invocation.deploymentId,
        environment: invocation.environment,
        location: invocation.location,
        webhook_name: invocation.webhook.name,
        invocation: storedInvocation(invocation),
        status: WebhookRunStatus.pending,
        call_id: `msg_${randomBytes(16).toString('base64url')}`,
        attempt_count: 0,
        next_attempt_at: null,
        attempts: '[]',
        deadline_at: now + options.callbackTimeoutMs,
        request: null,
        callback: null,
        reason: null,
        reason_code: null,
        created_at: now,
        updated_at: now,
        settled_at: null,
      });
      if (inserted) {
        log.info(
          { runId: row.id, webhook: row.webhook_name, deploymentId: row.deployment_id },
          'webhook run recorded',
        );
        timers.armDeadline(row.id, row.deadline_at);
        timers.inBackground('attempt', row.id, () => attempts.drive(row.id, row));
      }
      return toWebhookRun(row);
    },

    async cancel(runId, reason) {
      await settle(runId, WebhookRunStatus.cancelled, { reason, reason_code: 'BRL_ERR_WEBHOOK_CANCELLED' });
    },

    async get(runId) {
      const row = await repo.get(runId);
      return row ? toWebhookRun(row) : undefined;
    },

    async find(deploymentId, environment, location) {
      const row = await repo.find(deploymentId, environment, location);
      return row ? toWebhookRun(row) : undefined;
    },

    async listForDeployment(deploymentId) {
      return (await repo.listForDeployment(deploymentId)).map(toWebhookRun);
    },

    async resume() {
      if (resumed || timers.closed) return;
      resumed = true;
      const rows = await repo.listByStatus(UNSETTLED);
      let expired = 0;
      for (const row of rows) if (await timers.takeUp(row)) expired++;
      log.info({ unsettled: rows.length, expired }, 'webhook runs resumed');
    },

    async adopt(deploymentId) {
      if (timers.closed) return;
      for (const row of await repo.listForDeployment(deploymentId)) {
        if (isUnsettled(row.status)) await timers.takeUp(row);
      }
    },

    async adoptMany(deploymentIds) {
      const rows = await repo.outcomesForDeployments(deploymentIds);
      if (!timers.closed) for (const row of rows) if (isUnsettled(row.status)) await timers.takeUp(row);
      return rows.map(toAdoptedRun);
    },

    onSettled(listener) {
      listeners.push(listener);
    },

    acceptCallback,

    async drain(deadlineAt) {
      timers.draining = true;
      const remaining = deadlineAt - Date.now();
      if (timers.inFlight.size > 0 && remaining > 0) {
        log.info({ callsInFlight: timers.inFlight.size }, 'draining: waiting for webhook calls in flight');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          timers.idle(),
          new Promise((r) => {
            timer = setTimeout(r, remaining);
          }),
        ]);
        clearTimeout(timer);
      }
      if (timers.inFlight.size > 0)
        log.warn(
          { callsInFlight: timers.inFlight.size },
          'draining: grace period over; calls still in flight will be made again by whoever resumes their deployment',
        );
      await service.close();
    },

    async close() {
      if (timers.closed) return;
      await timers.close();
      await attempts.close();
    },
  };
  return service;
}
