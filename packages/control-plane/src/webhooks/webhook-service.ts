import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { BorealisError, isBorealisError } from '../errors.js';
import type { Dispatcher } from '../relay/index.js';
import type { Store, WebhookRunPatch, WebhookRunRow } from '../store/index.js';
import {
  checkLeadingValue,
  leadingVariable,
  listTemplateVariables,
  maskSecrets,
  type RenderedRequest,
  renderWebhookRequest,
} from '../templates/index.js';
import { formatDuration } from '../util/duration.js';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, parseRetryAfter } from './backoff.js';
import {
  createAgentCaller,
  createDirectCaller,
  type EndpointAnswer,
  type OutgoingCall,
} from './call-endpoint.js';
import { hashCallbackToken, looksLikeCallbackToken, newCallbackToken, sameDigest } from './callback-token.js';
import {
  parseAttempts,
  parseInvocation,
  type StoredInvocation,
  storedInvocation,
  toWebhookRun,
} from './run-record.js';
import { STANDARD_WEBHOOK_HEADERS, signStandardWebhook } from './signing.js';
import { createSsrfGuard, type LookupAll } from './ssrf-guard.js';
import {
  type WebhookAttempt,
  type WebhookInvocation,
  type WebhookRun,
  WebhookRunStatus,
  type WebhookService,
} from './types.js';

/** Secret values by name (the secrets repository); names that do not exist are absent. */
export interface SecretLookup {
  getValues(names: Iterable<string>): Promise<Map<string, string>>;
}

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

/** A callback as it arrived: the parsed JSON body, or undefined when there was none. */
export interface CallbackAnswer {
  status: WebhookRunStatus;
}

/** The service plus the door callbacks come in through (used by `registerCallbackRoutes`). */
export interface WebhookServiceWithCallbacks extends WebhookService {
  /**
   * Settles the run `token` belongs to. Throws BRL_ERR_CALLBACK_UNKNOWN (404), _INVALID (400, the
   * token stays usable) or _CONFLICT (409).
   */
  acceptCallback(token: string, body: unknown, meta?: { from?: string }): Promise<CallbackAnswer>;
}

export const MAX_MD_MESSAGE_BYTES = 64 * 1024;
/** How much of an answer's body a failure reason quotes. */
const REASON_BODY_CHARS = 200;
/** Answer headers whose values are credentials: recorded by name only. */
const HIDDEN_HEADER =
  /^(set-cookie|cookie|authorization|proxy-authorization|x-api-key)$|token|secret|password/i;
const UNSETTLED = [WebhookRunStatus.pending, WebhookRunStatus.awaitingCallback] as const;
/** BOREALIS_AGENT_WAIT's default: long enough for an agent's restart or a rolling upgrade. */
export const DEFAULT_AGENT_WAIT_MS = 120_000;
/** After the store failed under a run, look at it again this much later. */
const STORE_RETRY_MS = 1_000;
/** How often a settled run is announced again while reading it back fails (a few minutes). */
const NOTIFY_TRIES = 300;
/** After a call found no agent though one seemed there, look again this much later. */
const AGENT_RECHECK_MS = 250;
/** setTimeout takes at most 2^31-1 ms; longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Prepared {
  request: OutgoingCall;
  /** The URL with secrets and the token masked, for messages. */
  displayUrl: string;
  /** Values that must never be recorded or logged: secret values and the callback token. */
  masks: string[];
  signingKey?: string;
}

export function createWebhookService(deps: WebhookServiceDeps): WebhookServiceWithCallbacks {
  const repo = deps.store.webhookRuns;
  const log = deps.logger.child({ component: 'webhooks' });
  const options = deps.options;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const callTimeoutMs = options.callTimeoutMs ?? 30_000;
  const agentWaitMs = options.agentWaitMs ?? DEFAULT_AGENT_WAIT_MS;
  const dispatcher = deps.dispatcher;
  const direct = createDirectCaller(createSsrfGuard(options.directAllow), {
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
  });
  const viaAgent = createAgentCaller(deps.dispatcher);

  const listeners: Array<(run: WebhookRun) => void> = [];
  const retryTimers = new Map<string, NodeJS.Timeout>();
  const deadlineTimers = new Map<string, NodeJS.Timeout>();
  const inFlight = new Map<string, AbortController>();
  // The token exists only here and in the call; after a restart a run gets a new one.
  const prepared = new Map<string, Prepared>();
  const driving = new Set<string>();
  const background = new Set<Promise<unknown>>();
  let closed = false;
  let draining = false;
  let resumed = false;

  /** Runs `fn` detached from the caller, but tracked so close() can wait for it. */
  function inBackground(what: string, runId: string, fn: () => Promise<unknown>): void {
    if (closed) return;
    const p = fn()
      .catch((err: unknown) => log.error({ runId, err: errorText(err) }, `webhook run: ${what} failed`))
      .finally(() => background.delete(p));
    background.add(p);
  }

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
    forget(runId, stopCall);
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
      if (closed || tries >= NOTIFY_TRIES) {
        log.error({ runId, err: errorText(err) }, 'webhook run settled, but telling the engine failed');
        return;
      }
      log.warn({ runId, err: errorText(err) }, 'webhook run settled; telling the engine again shortly');
      const timer = setTimeout(() => {
        inBackground('notify', runId, () => notifyOrRetry(runId, tries + 1));
      }, STORE_RETRY_MS);
      timer.unref();
    }
  }

  /**
   * Drops a settled run's timers and in-memory state. A cancel or a deadline also stops a call in
   * flight; a callback does not: a fast receiver may call back before its answer to our call has
   * arrived, and that answer is still worth recording.
   */
  function forget(runId: string, stopCall: boolean): void {
    clearTimeout(retryTimers.get(runId));
    retryTimers.delete(runId);
    clearTimeout(deadlineTimers.get(runId));
    deadlineTimers.delete(runId);
    if (stopCall) {
      inFlight.get(runId)?.abort();
      inFlight.delete(runId);
    }
    prepared.delete(runId);
  }

  function armDeadline(runId: string, deadlineAt: number): void {
    if (closed) return;
    clearTimeout(deadlineTimers.get(runId));
    const wait = Math.max(0, deadlineAt - Date.now());
    const timer = setTimeout(
      () => {
        deadlineTimers.delete(runId);
        if (Date.now() < deadlineAt) armDeadline(runId, deadlineAt);
        else {
          inBackground('deadline', runId, () =>
            expire(runId).catch((err: unknown) => {
              // The store failed: the deadline still holds; try again shortly.
              armDeadline(runId, Date.now() + STORE_RETRY_MS);
              throw err;
            }),
          );
        }
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    timer.unref();
    deadlineTimers.set(runId, timer);
  }

  function scheduleAttempt(runId: string, at: number): void {
    if (closed) return;
    clearTimeout(retryTimers.get(runId));
    const timer = setTimeout(
      () => {
        retryTimers.delete(runId);
        inBackground('attempt', runId, () => drive(runId));
      },
      Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS),
    );
    timer.unref();
    retryTimers.set(runId, timer);
  }

  /**
   * Makes an unsettled run this process's: expired if past its deadline (true), else its deadline
   * armed and, while pending, its call made (a scheduled retry keeps its time). Runs already
   * driven, scheduled or timed here are left as they are, so taking one up twice is harmless.
   */
  async function takeUp(row: {
    id: string;
    status: string;
    deadline_at: number;
    next_attempt_at: number | null;
  }): Promise<boolean> {
    if (row.deadline_at <= Date.now()) return expire(row.id);
    if (!deadlineTimers.has(row.id)) armDeadline(row.id, row.deadline_at);
    if (row.status !== WebhookRunStatus.pending) return false;
    if (driving.has(row.id) || retryTimers.has(row.id) || inFlight.has(row.id)) return false;
    if (row.next_attempt_at !== null) scheduleAttempt(row.id, row.next_attempt_at);
    else inBackground('attempt', row.id, () => drive(row.id));
    return false;
  }

  async function expire(runId: string): Promise<boolean> {
    const row = await repo.get(runId);
    if (!row || !isUnsettled(row.status) || row.deadline_at > Date.now()) return false;
    return settle(runId, WebhookRunStatus.failed, {
      reason: `no callback within ${formatDuration(row.deadline_at - row.created_at)} (BOREALIS_CALLBACK_TIMEOUT)`,
      reason_code: 'BRL_ERR_WEBHOOK_CALLBACK_TIMEOUT',
    });
  }

  async function prepare(
    row: WebhookRunRow,
    invocation: StoredInvocation,
    attempt: number,
  ): Promise<Prepared> {
    const webhook = invocation.webhook;
    const base = options.publicUrl().replace(/\/+$/, '');
    if (base === '') {
      throw new BorealisError(
        'BRL_ERR_WEBHOOK_NO_PUBLIC_URL',
        'There is no public URL to build the callback URI from: set BOREALIS_PUBLIC_URL to the URL the webhook receiver can reach this control plane at',
      );
    }
    const names = secretNames(webhook);
    const values = await deps.secrets.getValues(
      webhook.signingSecret === undefined ? names : [...names, webhook.signingSecret],
    );
    // Only the secrets the templates name are handed to rendering (no prototype: a name like
    // `constructor` is just a name).
    const secrets: Record<string, string> = Object.create(null);
    for (const name of names) {
      const value = values.get(name);
      if (value !== undefined) secrets[name] = value;
    }
    let signingKey: string | undefined;
    if (webhook.signingSecret !== undefined) {
      signingKey = values.get(webhook.signingSecret);
      if (signingKey === undefined) {
        throw new BorealisError(
          'BRL_ERR_WEBHOOK_SECRET_MISSING',
          `signingSecret names the secret "${webhook.signingSecret}", which does not exist: create it with: borealis secrets set ${webhook.signingSecret}`,
        );
      }
    }
    const token = newCallbackToken();
    const rendered = renderWebhookRequest(webhook, {
      armory: { ...invocation.armory, callbackUri: `${base}/callbacks/${token}` },
      context: invocation.context,
      secrets,
    });
    const masks = [...Object.values(secrets), ...(signingKey === undefined ? [] : [signingKey]), token];
    const mask = (text: string) => maskSecrets(text, masks);
    // The loggable path is masked by where its parts came from; masking by value on top catches
    // a secret's value that also came in through the context.
    const request = withCallId({ ...rendered, logUrl: mask(rendered.logUrl) }, row.call_id);
    const recorded = {
      method: request.method,
      url: mask(request.url),
      headers: request.headers.map(([k, v]) => [k, mask(v)] as [string, string]),
      ...(request.body === undefined ? {} : { body: mask(request.body) }),
    };
    const now = Date.now();
    await repo.addCallbackToken({
      token_hash: hashCallbackToken(token),
      run_id: row.id,
      attempt,
      created_at: now,
    });
    await repo.update(row.id, { request: JSON.stringify(recorded), updated_at: now });
    return { request, displayUrl: recorded.url, masks, ...(signingKey === undefined ? {} : { signingKey }) };
  }

  async function call(
    invocation: StoredInvocation,
    prep: Prepared,
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
    const opts = { displayUrl: prep.displayUrl, timeoutMs: callTimeoutMs, signal };
    if (invocation.webhook.networkMode !== 'remoteNetworkAgent') return direct.call(outgoing, opts);
    const agentIdentifier = invocation.webhook.agentIdentifier ?? invocation.account;
    if (agentIdentifier === undefined || agentIdentifier === '') {
      throw new BorealisError(
        'BRL_ERR_WEBHOOK_NO_AGENT',
        `Webhook "${invocation.webhook.name}" has networkMode: remoteNetworkAgent but no agentIdentifier, and its target has no account to name the agent: add agentIdentifier to the webhook`,
      );
    }
    return viaAgent.call(agentIdentifier, outgoing, opts);
  }

  /** Makes the next attempt of a pending run and decides what follows from its outcome. */
  async function drive(runId: string): Promise<void> {
    if (closed || draining || driving.has(runId)) return;
    driving.add(runId);
    try {
      await attemptOnce(runId);
    } catch (err) {
      // The store failed (a cut database link, a failover): the run is still pending and ours.
      // Left alone it would wait for the next restart; look again soon instead. A call already
      // made is made again with the same webhook-id, as after a restart.
      if (!closed) {
        log.warn({ runId, err: errorText(err) }, 'webhook run: the store failed; trying again shortly');
        scheduleAttempt(runId, Date.now() + STORE_RETRY_MS);
      }
    } finally {
      driving.delete(runId);
    }
  }

  async function attemptOnce(runId: string): Promise<void> {
    const row = await repo.get(runId);
    if (!row || row.status !== WebhookRunStatus.pending) return;
    if (row.deadline_at <= Date.now()) {
      await expire(runId);
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
    let prep = prepared.get(runId);
    if (!prep) {
      try {
        prep = await prepare(row, invocation, attempt);
      } catch (err) {
        await settle(runId, WebhookRunStatus.failed, failure(err, attempts));
        return;
      }
      prepared.set(runId, prep);
    }
    const agentIdentifier =
      invocation.webhook.networkMode === 'remoteNetworkAgent'
        ? invocation.webhook.agentIdentifier || invocation.account || undefined
        : undefined;
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
      if (!started || closed) return;

      const controller = new AbortController();
      inFlight.set(runId, controller);
      startedAt = Date.now();
      answer = undefined;
      error = undefined;
      try {
        answer = await call(invocation, prep, controller.signal);
      } catch (err) {
        error = isBorealisError(err)
          ? err
          : new BorealisError('BRL_ERR_INTERNAL', errorText(err), { cause: err });
      } finally {
        if (inFlight.get(runId) === controller) inFlight.delete(runId);
      }
      // Stopping the control plane: the attempt stays unfinished and resume() makes it again.
      if (closed) return;
      // No agent took the call (the one we saw left, or presence was a moment behind): nothing
      // was sent, so this is no attempt; wait for an agent, within the same bound.
      if (agentIdentifier !== undefined && error?.code === 'BRL_ERR_AGENT_NOT_CONNECTED') {
        waitSince ??= startedAt;
        await repo.update(runId, { attempt_count: attempt - 1 }, [WebhookRunStatus.pending]);
        await sleep(AGENT_RECHECK_MS);
        if (closed) return;
        continue;
      }
      break;
    }

    const record: WebhookAttempt = { attempt, startedAt, durationMs: Date.now() - startedAt };
    const mask = (text: string) => maskSecrets(text, prep.masks);
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
    const withAttempt = JSON.stringify([...attempts, record]);
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

    const retryCount = invocation.webhook.retryCount;
    const retry = async (delayMs: number, why: string): Promise<void> => {
      const at = Date.now() + delayMs;
      record.retry = { at, reason: why };
      const withRetry = JSON.stringify([...attempts, record]);
      const ok = await repo.update(
        runId,
        { attempts: withRetry, next_attempt_at: at, updated_at: Date.now() },
        [WebhookRunStatus.pending],
      );
      if (ok) scheduleAttempt(runId, at);
      else await repo.update(runId, { attempts: withRetry });
    };
    const give = async (reason: string, code: string) => {
      if (
        !(await settle(runId, WebhookRunStatus.failed, { attempts: withAttempt, reason, reason_code: code }))
      ) {
        await repo.update(runId, { attempts: withAttempt });
      }
    };
    const afterTries = (n: number) =>
      n > 1 ? ` (gave up after ${n} attempts; retryCount: ${retryCount})` : '';

    if (answer && answer.status >= 200 && answer.status < 300) {
      if (invocation.webhook.disableCallback) {
        if (!(await settle(runId, WebhookRunStatus.succeeded, { attempts: withAttempt }))) {
          await repo.update(runId, { attempts: withAttempt });
        }
        return;
      }
      const waiting = await repo.update(
        runId,
        { attempts: withAttempt, status: WebhookRunStatus.awaitingCallback, updated_at: Date.now() },
        [WebhookRunStatus.pending],
      );
      // A callback may have come before the answer did; then the run is settled already.
      if (!waiting) await repo.update(runId, { attempts: withAttempt });
      return;
    }
    if (answer) {
      const quoted = mask(answer.bodyStart).slice(0, REASON_BODY_CHARS).trim();
      const reason = `${prep.displayUrl} answered ${answer.status}${quoted === '' ? '' : `: ${quoted}`}`;
      if ((answer.status >= 500 || answer.status === 429) && attempt <= retryCount) {
        const after = parseRetryAfter(answer.retryAfter);
        await retry(
          after === undefined ? backoffDelay(attempt, backoff) : Math.min(after, backoff.retryAfterMaxMs),
          `${reason}${after === undefined ? '' : ` (Retry-After: ${answer.retryAfter})`}`,
        );
        return;
      }
      await give(reason + afterTries(attempt), 'BRL_ERR_WEBHOOK_HTTP_STATUS');
      return;
    }
    if (!error || error.code === 'BRL_ERR_WEBHOOK_CANCELLED') {
      // Cancelled or past its deadline while in flight: whoever stopped it has settled it.
      await repo.update(runId, { attempts: withAttempt });
      return;
    }
    if (error.retryable && attempt <= retryCount) {
      await retry(backoffDelay(attempt, backoff), mask(error.message));
      return;
    }
    await give(mask(error.message) + afterTries(attempt), error.code);
  }

  /**
   * Waits for an agent of `agentIdentifier` while the run stays pending: recorded on the run (so
   * every replica's status shows it) and bounded by BOREALIS_AGENT_WAIT from `since` and by the
   * run's deadline. True when an agent is there; false when the run settled meanwhile (cancel,
   * deadline), this process is stopping, or the bound passed (then the run failed, saying which
   * agent and how to fix it).
   */
  async function awaitAgent(row: WebhookRunRow, agentIdentifier: string, since: number): Promise<boolean> {
    const runId = row.id;
    const until = Math.min(since + agentWaitMs, row.deadline_at);
    // Calls may keep finding no agent though presence lists one (a replica's list a moment
    // behind): the bound holds for that too, so a run never spins past it.
    const callsFoundNone = Date.now() >= until;
    if (!callsFoundNone && !dispatcher.hasAgent(agentIdentifier)) {
      const waiting = JSON.stringify({ agentIdentifier, since, until });
      const marked = await repo.update(runId, { waiting, updated_at: Date.now() }, [
        WebhookRunStatus.pending,
      ]);
      if (!marked || closed) return false;
      log.info(
        { runId, agentIdentifier, waitMs: until - Date.now() },
        `waiting for agent "${agentIdentifier}" to connect`,
      );
      const controller = new AbortController();
      inFlight.set(runId, controller);
      try {
        await dispatcher.waitForAgent(agentIdentifier, {
          timeoutMs: until - Date.now(),
          signal: controller.signal,
        });
      } finally {
        if (inFlight.get(runId) === controller) inFlight.delete(runId);
      }
      // Cancelled or past its deadline meanwhile: whoever stopped the wait has settled the run.
      if (closed || controller.signal.aborted) return false;
      await repo.update(runId, { waiting: null, updated_at: Date.now() }, [WebhookRunStatus.pending]);
    }
    if (!callsFoundNone && dispatcher.hasAgent(agentIdentifier)) return true;
    const waited = formatDuration(Math.max(0, Math.round((Date.now() - since) / 1000)) * 1000);
    const bound =
      until < since + agentWaitMs
        ? "the run's deadline (BOREALIS_CALLBACK_TIMEOUT)"
        : `BOREALIS_AGENT_WAIT=${formatDuration(agentWaitMs)}`;
    const reason =
      `no agent "${agentIdentifier}" connected within ${waited} of waiting (${bound}): ` +
      `start one with BOREALIS_AGENT_IDENTIFIER=${agentIdentifier} that dials this control plane ` +
      '(GET /api/v1/agents lists who is connected), check its logs for refused credentials, ' +
      'or raise BOREALIS_AGENT_WAIT if restarts take longer';
    await settle(runId, WebhookRunStatus.failed, { reason, reason_code: 'BRL_ERR_AGENT_NOT_CONNECTED' });
    return false;
  }

  function failure(err: unknown, attempts: WebhookAttempt[]): WebhookRunPatch {
    const code = isBorealisError(err) ? err.code : 'BRL_ERR_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    return { reason: message, reason_code: code, attempts: JSON.stringify(attempts) };
  }

  async function acceptCallback(
    token: string,
    body: unknown,
    meta: { from?: string } = {},
  ): Promise<CallbackAnswer> {
    const unknown = () =>
      new BorealisError(
        'BRL_ERR_CALLBACK_UNKNOWN',
        'No webhook run has this callback token: use the callback URI from the call exactly as it was sent, with /callback after it',
      );
    if (typeof token !== 'string' || !looksLikeCallbackToken(token)) throw unknown();
    const hash = hashCallbackToken(token);
    const tokenRow = await repo.findCallbackToken(hash);
    if (!tokenRow || !sameDigest(hash, tokenRow.token_hash)) throw unknown();
    const outcome = parseCallbackBody(body);
    const row = await repo.get(tokenRow.run_id);
    if (!row) throw unknown();

    const runId = row.id;
    const now = Date.now();
    const status = outcome.success ? WebhookRunStatus.succeeded : WebhookRunStatus.failed;
    const callback = {
      success: outcome.success,
      receivedAt: now,
      ...(meta.from === undefined ? {} : { from: meta.from }),
      ...(outcome.mdMessage === undefined ? {} : { mdMessage: outcome.mdMessage }),
    };
    if (isUnsettled(row.status) && row.deadline_at > now) {
      const settled = await settle(
        runId,
        status,
        {
          callback: JSON.stringify(callback),
          ...(outcome.success
            ? {}
            : {
                reason: 'the callback reported failure (success: false)',
                reason_code: 'BRL_ERR_WEBHOOK_CALLBACK_FAILED',
              }),
        },
        { stopCall: false },
      );
      if (settled) {
        log.info({ runId, success: outcome.success }, 'webhook callback accepted');
        return { status };
      }
    }
    // Settled already (by this callback's twin, another outcome, the deadline or a cancel).
    const current = (await repo.get(runId)) ?? row;
    if (isUnsettled(current.status) && current.deadline_at <= Date.now()) await expire(runId);
    const latest = toWebhookRun((await repo.get(runId)) ?? current);
    if (latest.callback && latest.callback.success === outcome.success) return { status: latest.status };
    throw new BorealisError('BRL_ERR_CALLBACK_CONFLICT', conflictMessage(latest), {
      details: { status: latest.status },
    });
  }

  const service: WebhookServiceWithCallbacks = {
    async preflightUri(webhook, context) {
      const base = leadingVariable(webhook.uriTemplate);
      if (!base || base.segments !== 2) return;
      let value: string | undefined;
      if (base.root === 'context') value = Object.hasOwn(context, base.name) ? context[base.name] : undefined;
      else if (base.root === 'secrets') value = (await deps.secrets.getValues([base.name])).get(base.name);
      if (value !== undefined) checkLeadingValue(base, value);
    },

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
        armDeadline(row.id, row.deadline_at);
        inBackground('attempt', row.id, () => drive(row.id));
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
      if (resumed || closed) return;
      resumed = true;
      const rows = await repo.listByStatus(UNSETTLED);
      let expired = 0;
      for (const row of rows) if (await takeUp(row)) expired++;
      log.info({ unsettled: rows.length, expired }, 'webhook runs resumed');
    },

    async adopt(deploymentId) {
      if (closed) return;
      for (const row of await repo.listForDeployment(deploymentId)) {
        if (isUnsettled(row.status)) await takeUp(row);
      }
    },

    onSettled(listener) {
      listeners.push(listener);
    },

    acceptCallback,

    async drain(deadlineAt) {
      draining = true;
      const remaining = deadlineAt - Date.now();
      if (inFlight.size > 0 && remaining > 0) {
        log.info({ callsInFlight: inFlight.size }, 'draining: waiting for webhook calls in flight');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...background]),
          new Promise((r) => {
            timer = setTimeout(r, remaining);
          }),
        ]);
        clearTimeout(timer);
      }
      if (inFlight.size > 0)
        log.warn(
          { callsInFlight: inFlight.size },
          'draining: grace period over; calls still in flight will be made again by whoever resumes their deployment',
        );
      await service.close();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const t of retryTimers.values()) clearTimeout(t);
      for (const t of deadlineTimers.values()) clearTimeout(t);
      retryTimers.clear();
      deadlineTimers.clear();
      for (const c of inFlight.values()) c.abort();
      await Promise.allSettled([...background]);
      await direct.close();
    },
  };
  return service;
}

function isUnsettled(status: string): boolean {
  return status === WebhookRunStatus.pending || status === WebhookRunStatus.awaitingCallback;
}

/** The names of the secrets a webhook's templates use. */
function secretNames(webhook: StoredInvocation['webhook']): string[] {
  const sources = [
    webhook.uriTemplate,
    ...webhook.headers.map((h) => h.value),
    webhook.bodyTemplate?.inline ?? '',
  ];
  const names = new Set<string>();
  for (const source of sources) {
    for (const path of listTemplateVariables(source)) {
      if (path.startsWith('secrets.')) names.add(path.slice('secrets.'.length));
    }
  }
  return [...names];
}

/** Our `webhook-*` headers replace any the deploy file set, so receivers can trust them. */
function withCallId(rendered: RenderedRequest, callId: string): OutgoingCall {
  const reserved = new Set<string>(STANDARD_WEBHOOK_HEADERS);
  const headers = rendered.headers.filter(([k]) => !reserved.has(k.toLowerCase()));
  headers.push(['webhook-id', callId]);
  return {
    method: rendered.method,
    url: rendered.url,
    logUrl: rendered.logUrl,
    headers,
    ...(rendered.body === undefined ? {} : { body: rendered.body }),
  };
}

function parseCallbackBody(body: unknown): { success: boolean; mdMessage?: string } {
  const invalid = (why: string) =>
    new BorealisError(
      'BRL_ERR_CALLBACK_INVALID',
      `The callback body must be JSON like {"success": true, "mdMessage": "..."}: ${why}`,
    );
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('it is not a JSON object');
  const { success, mdMessage } = body as { success?: unknown; mdMessage?: unknown };
  if (typeof success !== 'boolean') throw invalid('"success" must be true or false');
  if (mdMessage === undefined || mdMessage === null) return { success };
  if (typeof mdMessage !== 'string') throw invalid('"mdMessage" must be a string');
  if (Buffer.byteLength(mdMessage, 'utf8') > MAX_MD_MESSAGE_BYTES) {
    throw invalid(`"mdMessage" is longer than ${MAX_MD_MESSAGE_BYTES / 1024} KiB`);
  }
  return { success, mdMessage };
}

function conflictMessage(run: WebhookRun): string {
  switch (run.status) {
    case WebhookRunStatus.cancelled:
      return `This webhook run was cancelled (${run.reason ?? 'no reason given'}); the callback changes nothing`;
    case WebhookRunStatus.succeeded:
    case WebhookRunStatus.failed:
      if (run.reasonCode === 'BRL_ERR_WEBHOOK_CALLBACK_TIMEOUT') {
        return `This webhook run is past its deadline and failed: ${run.reason}; the callback changes nothing`;
      }
      return run.callback
        ? `This webhook run already settled as ${run.status} by an earlier callback (success: ${run.callback.success}); a different outcome is refused`
        : `This webhook run already settled as ${run.status}${run.reason ? ` (${run.reason})` : ''}; the callback changes nothing`;
    default:
      return `This webhook run cannot take a callback now (status ${run.status})`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
