import type { Logger } from 'pino';
import { BorealisError } from '../errors.js';
import type { Store } from '../store/index.js';
import { hashCallbackToken, looksLikeCallbackToken } from './callback-token.js';
import { toWebhookRun } from './run-record.js';
import type { Settle } from './run-timers.js';
import { isUnsettled, type WebhookRun, WebhookRunStatus } from './types.js';

/**
 * Taking a callback: the token `prepare-request.ts` created comes back in the callback URI; its
 * hash finds the run, the body says how it went, and the run settles (or the callback is told
 * why it changes nothing). The route in front of it is `api/callback-routes.ts`.
 */

/** What a callback is answered: the run's status after it. */
export interface CallbackAnswer {
  status: WebhookRunStatus;
}

/**
 * Settles the run `token` belongs to. Throws BRL_ERR_CALLBACK_UNKNOWN (404), _INVALID (400, the
 * token stays usable) or _CONFLICT (409).
 */
export type AcceptCallback = (
  token: string,
  body: unknown,
  meta?: { from?: string },
) => Promise<CallbackAnswer>;

export interface CallbackDeps {
  repo: Pick<Store['webhookRuns'], 'get' | 'findCallbackToken'>;
  log: Logger;
  settle: Settle;
  /** Fails a run past its deadline (`run-timers.ts`). */
  expire: (runId: string) => Promise<boolean>;
}

export const MAX_MD_MESSAGE_BYTES = 64 * 1024;

export function createCallbackAcceptor(deps: CallbackDeps): AcceptCallback {
  const { repo, log } = deps;
  return async function acceptCallback(token, body, meta = {}) {
    const unknown = () =>
      new BorealisError(
        'BRL_ERR_CALLBACK_UNKNOWN',
        'No webhook run has this callback token: use the callback URI from the call exactly as it was sent, with /callback after it',
      );
    if (typeof token !== 'string' || !looksLikeCallbackToken(token)) throw unknown();
    // Found by equality on the hash: the row's hash is this one.
    const tokenRow = await repo.findCallbackToken(hashCallbackToken(token));
    if (!tokenRow) throw unknown();
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
      const settled = await deps.settle(
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
    if (isUnsettled(current.status) && current.deadline_at <= Date.now()) await deps.expire(runId);
    const latest = toWebhookRun((await repo.get(runId)) ?? current);
    if (latest.callback && latest.callback.success === outcome.success) return { status: latest.status };
    throw new BorealisError('BRL_ERR_CALLBACK_CONFLICT', conflictMessage(latest), {
      details: { status: latest.status },
    });
  };
}

export function parseCallbackBody(body: unknown): { success: boolean; mdMessage?: string } {
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

export function conflictMessage(run: WebhookRun): string {
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
