import { agentFor } from '@borealis/deploy-spec';
import type { Logger } from 'pino';
import { BorealisError, isBorealisError } from '../errors.js';
import type { Dispatcher } from '../relay/index.js';
import type { Store, WebhookRunPatch, WebhookRunRow } from '../store/index.js';
import { maskSecrets } from '../templates/index.js';
import { createAgentWait } from './agent-wait.js';
import { attemptOutcome } from './attempt-outcome.js';
import type { BackoffOptions } from './backoff.js';
import { agentCaller, createDirectCaller, type EndpointAnswer } from './callers.js';
import type { PreparedCall, PrepareRequest } from './prepare-request.js';
import { parseAttempts, parseInvocation, type StoredInvocation } from './run-record.js';
import { errorText, type RunTimers, type Settle, STORE_RETRY_MS } from './run-timers.js';
import { signStandardWebhook } from './signing.js';
import { createSsrfGuard, type LookupAll } from './ssrf-guard.js';
import { type WebhookAttempt, WebhookRunStatus } from './types.js';

/**
 * One attempt of a pending run: prepare the call (once per run and process), wait for its agent
 * if it goes through one, sign it, route it by `networkMode` (directly behind the SSRF guard, or
 * through an agent), record what happened, and carry out what `attempt-outcome.ts` decides.
 */

export interface AttemptOptions {
  /** Limit of one call, from sending to the answer's headers. */
  callTimeoutMs: number;
  /** BOREALIS_AGENT_WAIT, in ms. */
  agentWaitMs: number;
  backoff: BackoffOptions;
  /** Addresses or CIDRs direct webhooks may reach despite the SSRF guard (BOREALIS_DIRECT_ALLOW). */
  directAllow: readonly string[];
  /** DNS for direct calls; tests inject one to play a rebinding resolver. */
  lookup?: LookupAll;
  connectTimeoutMs?: number;
}

export interface AttemptDeps {
  repo: Pick<Store['webhookRuns'], 'get' | 'update'>;
  dispatcher: Dispatcher;
  timers: RunTimers;
  settle: Settle;
  prepare: PrepareRequest;
  log: Logger;
  options: AttemptOptions;
}

export interface Attempts {
  /**
   * Makes the next attempt of a pending run and decides what follows from its outcome. `fresh`:
   * the row just inserted by this process (its first attempt needs no read of it).
   */
  drive(runId: string, fresh?: WebhookRunRow): Promise<void>;
  /** Closes the direct caller's sockets. */
  close(): Promise<void>;
}

/** Answer headers whose values are credentials: recorded by name only. */
const HIDDEN_HEADER =
  /^(set-cookie|cookie|authorization|proxy-authorization|x-api-key)$|token|secret|password/i;
/** After a call found no agent though one seemed there, look again this much later. */
const AGENT_RECHECK_MS = 250;

export function createAttempts(deps: AttemptDeps): Attempts {
  const { repo, dispatcher, timers, settle, log, options } = deps;
  const direct = createDirectCaller(createSsrfGuard(options.directAllow), {
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
  });
  const awaitAgent = createAgentWait({ ...deps, agentWaitMs: options.agentWaitMs });

  async function drive(runId: string, fresh?: WebhookRunRow): Promise<void> {
    if (timers.closed || timers.draining || timers.driving.has(runId)) return;
    timers.driving.add(runId);
    try {
      await attemptOnce(runId, fresh);
    } catch (err) {
      // The store failed (a cut database link, a failover): the run is still pending and ours.
      // Left alone it would wait for the next restart; look again soon instead. A call already
      // made is made again with the same webhook-id, as after a restart.
      if (!timers.closed) {
        log.warn({ runId, err: errorText(err) }, 'webhook run: the store failed; trying again shortly');
        timers.scheduleAttempt(runId, Date.now() + STORE_RETRY_MS);
      }
    } finally {
      timers.driving.delete(runId);
    }
  }

  async function attemptOnce(runId: string, fresh?: WebhookRunRow): Promise<void> {
    // A fresh row may have been settled (cancelled) since: the conditional update that starts
    // the attempt below finds that out before any call is made.
    const row = fresh ?? (await repo.get(runId));
    if (!row || row.status !== WebhookRunStatus.pending) return;
    if (row.deadline_at <= Date.now()) {
      await timers.expire(runId);
      return;
    }
    const invocation = parseInvocation(row);
    const attempts = parseAttempts(row);
    const attempt = attempts.length + 1;
    if (row.attempt_count >= attempt) {
      log.warn(
        { runId, attempt },
        'webhook call was cut off by a restart; its outcome is unknown, calling again with the same webhook-id',
      );
    }
    let prep = timers.prepared.get(runId);
    if (!prep) {
      try {
        prep = await deps.prepare(row, invocation, attempt);
      } catch (err) {
        await settle(runId, WebhookRunStatus.failed, failure(err, attempts));
        return;
      }
      timers.prepared.set(runId, prep);
    }
    const agentIdentifier = agentFor(invocation.webhook, invocation.account);
    let answer: EndpointAnswer | undefined;
    let error: BorealisError | undefined;
    let startedAt = Date.now();
    // When the wait for an agent began: set when none was there, kept while calls keep finding none.
    let waitSince: number | undefined;
    for (;;) {
      if (agentIdentifier !== undefined) {
        if (!dispatcher.hasAgent(agentIdentifier)) waitSince ??= Date.now();
        if (waitSince !== undefined && !(await awaitAgent(row, agentIdentifier, waitSince))) return;
      }
      const started = await repo.update(
        runId,
        { attempt_count: attempt, next_attempt_at: null, waiting: null, updated_at: Date.now() },
        [WebhookRunStatus.pending],
      );
      if (!started || timers.closed) return;

      const controller = new AbortController();
      timers.inFlight.set(runId, controller);
      startedAt = Date.now();
      answer = undefined;
      error = undefined;
      try {
        answer = await call(invocation, agentIdentifier, prep, controller.signal);
      } catch (err) {
        error = isBorealisError(err)
          ? err
          : new BorealisError('BRL_ERR_INTERNAL', errorText(err), { cause: err });
      } finally {
        if (timers.inFlight.get(runId) === controller) timers.inFlight.delete(runId);
      }
      // Stopping the control plane: the attempt stays unfinished and resume() makes it again.
      if (timers.closed) return;
      // No agent took the call (the one we saw left, or presence was a moment behind): nothing
      // was sent, so this is no attempt; wait for an agent, within the same bound.
      if (agentIdentifier !== undefined && error?.code === 'BRL_ERR_AGENT_NOT_CONNECTED') {
        waitSince ??= startedAt;
        await repo.update(runId, { attempt_count: attempt - 1 }, [WebhookRunStatus.pending]);
        await sleep(AGENT_RECHECK_MS);
        if (timers.closed) return;
        continue;
      }
      break;
    }

    const record: WebhookAttempt = { attempt, startedAt, durationMs: Date.now() - startedAt };
    const masks = prep.masks;
    const mask = (text: string) => maskSecrets(text, masks);
    if (answer) {
      record.status = answer.status;
      if (answer.agent) record.agent = answer.agent;
      record.response = {
        headers: (answer.headers ?? []).map(
          ([k, v]) => [k, HIDDEN_HEADER.test(k) ? '(hidden)' : mask(v)] as [string, string],
        ),
        bodyStart: mask(answer.bodyStart),
      };
    } else if (error) {
      record.errorCode = error.code;
      record.message = mask(error.message);
    }
    log.info(
      {
        runId,
        callId: row.call_id,
        attempt,
        url: prep.displayUrl,
        status: record.status,
        errorCode: record.errorCode,
        agent: record.agent?.instanceId,
        durationMs: record.durationMs,
      },
      'webhook call made',
    );

    const outcome = attemptOutcome({
      ...(answer
        ? {
            answer: {
              status: answer.status,
              bodyStart: mask(answer.bodyStart),
              ...(answer.retryAfter === undefined ? {} : { retryAfter: answer.retryAfter }),
            },
          }
        : {}),
      ...(error
        ? { error: { code: error.code, message: mask(error.message), retryable: error.retryable } }
        : {}),
      cancelled: error?.code === 'BRL_ERR_WEBHOOK_CANCELLED',
      attempt,
      retryCount: invocation.webhook.retryCount,
      disableCallback: invocation.webhook.disableCallback === true,
      displayUrl: prep.displayUrl,
      backoff: options.backoff,
      now: Date.now(),
    });

    const withAttempt = JSON.stringify([...attempts, record]);
    /** Settles the run; when it had settled already (a callback, a cancel), records the attempt. */
    const settleOrRecord = async (status: WebhookRunStatus, patch: WebhookRunPatch = {}) => {
      if (!(await settle(runId, status, { attempts: withAttempt, ...patch }))) {
        await repo.update(runId, { attempts: withAttempt });
      }
    };
    switch (outcome.kind) {
      case 'succeed':
        await settleOrRecord(WebhookRunStatus.succeeded);
        return;
      case 'await-callback': {
        const waiting = await repo.update(
          runId,
          { attempts: withAttempt, status: WebhookRunStatus.awaitingCallback, updated_at: Date.now() },
          [WebhookRunStatus.pending],
        );
        // A callback may have come before the answer did; then the run is settled already.
        if (!waiting) await repo.update(runId, { attempts: withAttempt });
        // No call is made again once the receiver took it: the prepared request (body, headers,
        // token) need not stay in memory for the whole wait.
        else timers.prepared.delete(runId);
        return;
      }
      case 'retry': {
        const at = Date.now() + outcome.delayMs;
        record.retry = { at, reason: outcome.reason };
        const withRetry = JSON.stringify([...attempts, record]);
        const ok = await repo.update(
          runId,
          { attempts: withRetry, next_attempt_at: at, updated_at: Date.now() },
          [WebhookRunStatus.pending],
        );
        if (ok) timers.scheduleAttempt(runId, at);
        else await repo.update(runId, { attempts: withRetry });
        return;
      }
      case 'fail':
        await settleOrRecord(WebhookRunStatus.failed, { reason: outcome.reason, reason_code: outcome.code });
        return;
      case 'stopped':
        // Cancelled or past its deadline while in flight: whoever stopped it has settled it.
        await repo.update(runId, { attempts: withAttempt });
        return;
    }
  }

  /**
   * Signs the call (a fresh timestamp per attempt) and routes it by `networkMode`: directly, or
   * to `agentIdentifier` (`agentFor`: the webhook's own, else the target's account).
   */
  async function call(
    invocation: StoredInvocation,
    agentIdentifier: string | undefined,
    prep: PreparedCall,
    signal: AbortSignal,
  ): Promise<EndpointAnswer> {
    const headers = [...prep.request.headers];
    if (prep.signingKey !== undefined) {
      // A fresh timestamp and signature per attempt; the id stays the same.
      const timestamp = Math.floor(Date.now() / 1000);
      const callId = headers.find(([k]) => k === 'webhook-id')?.[1] ?? '';
      headers.push(
        ['webhook-timestamp', String(timestamp)],
        [
          'webhook-signature',
          signStandardWebhook(prep.signingKey, callId, timestamp, prep.request.body ?? ''),
        ],
      );
    }
    const outgoing = { ...prep.request, headers };
    const opts = { displayUrl: prep.displayUrl, timeoutMs: options.callTimeoutMs, signal };
    if (invocation.webhook.networkMode !== 'remoteNetworkAgent') return direct.call(outgoing, opts);
    if (agentIdentifier === undefined) {
      throw new BorealisError(
        'BRL_ERR_WEBHOOK_NO_AGENT',
        `Webhook "${invocation.webhook.name}" has networkMode: remoteNetworkAgent but no agentIdentifier, and its target has no account to name the agent: add agentIdentifier to the webhook`,
      );
    }
    return agentCaller(dispatcher, agentIdentifier).call(outgoing, opts);
  }

  return { drive, close: () => direct.close() };
}

/** A run that could not be prepared fails with the error's code and words. */
function failure(err: unknown, attempts: WebhookAttempt[]): WebhookRunPatch {
  const code = isBorealisError(err) ? err.code : 'BRL_ERR_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  return { reason: message, reason_code: code, attempts: JSON.stringify(attempts) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
