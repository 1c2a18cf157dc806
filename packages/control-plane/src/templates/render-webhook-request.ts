import { bodyIsJson, type TemplateVariables } from '@borealis/deploy-spec';
import { renderHeaderValue, renderJsonBody, renderLogUrl, renderTextBody, renderUri } from './render.js';

/**
 * The parts of a webhook definition that rendering needs. The deploy file's `WebhookSpec` has
 * this shape (structurally); rendering needs nothing else from the deploy file.
 */
export interface RenderableWebhook {
  method: string;
  uriTemplate: string;
  headers: ReadonlyArray<{ key: string; value: string }>;
  bodyTemplate?: { inline: string } | undefined;
}

export interface RenderedRequest {
  method: string;
  url: string;
  /** The URL as it may be logged: scheme, host and path, secret-rendered parts masked (see renderLogUrl). */
  logUrl: string;
  headers: [string, string][];
  body?: string;
}

/** Renders a webhook's request; throws BorealisError (BRL_ERR_TEMPLATE_*) naming the problem. */
export function renderWebhookRequest(webhook: RenderableWebhook, vars: TemplateVariables): RenderedRequest {
  const url = renderUri(webhook.uriTemplate, vars);
  const headers: [string, string][] = webhook.headers.map((h) => [
    h.key,
    renderHeaderValue(h.value, vars, h.key),
  ]);
  const request: RenderedRequest = {
    method: webhook.method,
    url,
    logUrl: renderLogUrl(webhook.uriTemplate, vars),
    headers,
  };
  const inline = webhook.bodyTemplate?.inline;
  if (inline !== undefined) {
    request.body = bodyIsJson(webhook.headers, inline)
      ? renderJsonBody(inline, vars)
      : renderTextBody(inline, vars);
  }
  return request;
}
