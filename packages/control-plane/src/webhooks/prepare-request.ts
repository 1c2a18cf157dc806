import { BorealisError } from '../errors.js';
import type { Store, WebhookRunRow } from '../store/index.js';
import {
  checkLeadingValue,
  leadingVariable,
  listTemplateVariables,
  maskSecrets,
  type RenderedRequest,
  renderWebhookRequest,
} from '../templates/index.js';
import { hashCallbackToken, newCallbackToken } from './callback-token.js';
import type { OutgoingCall } from './callers.js';
import type { StoredInvocation } from './run-record.js';
import { STANDARD_WEBHOOK_HEADERS } from './signing.js';
import type { WebhookService } from './types.js';

/**
 * Preparing a run's call: its secrets and signing key, a new callback token (born here, hashed
 * into the store, consumed by `callbacks.ts`), the rendered request, the values to mask, and the
 * request as recorded for people (masked). The token lives only in the returned `PreparedCall`
 * and the call itself; after a restart a run gets a new one.
 */

/** Secret values by name (the secrets repository); names that do not exist are absent. */
export interface SecretLookup {
  getValues(names: Iterable<string>): Promise<Map<string, string>>;
}

export interface PreparedCall {
  request: OutgoingCall;
  /** The URL with secrets and the token masked, for messages. */
  displayUrl: string;
  /** Values that must never be recorded or logged: secret values and the callback token. */
  masks: string[];
  signingKey?: string;
}

export interface RequestPreparerDeps {
  repo: Pick<Store['webhookRuns'], 'addCallbackToken' | 'update'>;
  secrets: SecretLookup;
  /** Read at every call, not once: the public URL may only be known after `listen`. */
  publicUrl: () => string;
}

export type PrepareRequest = (
  row: WebhookRunRow,
  invocation: StoredInvocation,
  attempt: number,
) => Promise<PreparedCall>;

export function createRequestPreparer(deps: RequestPreparerDeps): PrepareRequest {
  const { repo } = deps;
  return async function prepare(row, invocation, attempt) {
    const webhook = invocation.webhook;
    const base = deps.publicUrl().replace(/\/+$/, '');
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
  };
}

/** `WebhookService.preflightUri`: checks a base URL taken from a secret or the context, at start. */
export function createUriPreflight(secrets: SecretLookup): NonNullable<WebhookService['preflightUri']> {
  return async (webhook, context) => {
    const base = leadingVariable(webhook.uriTemplate);
    if (!base || base.segments !== 2) return;
    let value: string | undefined;
    if (base.root === 'context') value = Object.hasOwn(context, base.name) ? context[base.name] : undefined;
    else if (base.root === 'secrets') value = (await secrets.getValues([base.name])).get(base.name);
    if (value !== undefined) checkLeadingValue(base, value);
  };
}

/** The names of the secrets a webhook's templates use. */
export function secretNames(webhook: StoredInvocation['webhook']): string[] {
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
export function withCallId(rendered: RenderedRequest, callId: string): OutgoingCall {
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
