/**
 * Rendering what a webhook call sends: bodies, header values and the URL as it may be logged. The
 * template language itself (allow-list, variables, the URI rules) lives in `@borealis/deploy-spec`,
 * which the deploy-file validator shares; its `TemplateError`s become `BorealisError`s here.
 */
import {
  type Encoding,
  leadingVariable,
  parseHttpUrl,
  checkLeadingValue as specCheckLeadingValue,
  renderResolved as specRenderResolved,
  renderUri as specRenderUri,
  type TemplateVariables,
} from '@borealis/deploy-spec';
import { BorealisError } from '../errors.js';
import { asBorealisError } from './template-errors.js';

const renderResolved = asBorealisError(specRenderResolved);

/** Renders a `uriTemplate` (see `renderUri` in `@borealis/deploy-spec`), throwing `BorealisError`s. */
export const renderUri = asBorealisError(specRenderUri);

/** Checks a uriTemplate's leading value before the call (see `@borealis/deploy-spec`). */
export const checkLeadingValue = asBorealisError(specCheckLeadingValue);

/**
 * Renders one template with each substituted value encoded for `encoding`. Refuses templates
 * outside the allow-list and any reference that has no value, naming it (strict mode).
 */
export function renderTemplate(source: string, vars: TemplateVariables, encoding: Encoding): string {
  return renderResolved(source, vars, encoding).text;
}

const LOG_MASK = '****';

/**
 * A rendered `uriTemplate` as it may be logged (the agent logs its host and path for each call):
 * `scheme://host[:port]/path` — no user info, no query, no fragment — with every part that came
 * from a secret, or from `callbackUri` (it carries a single-use token), rendered as `****`. The
 * template is rendered again with those values replaced, so what is masked is decided by where
 * each part came from, not by searching for values. A template that does not render to a URL
 * that way logs as all mask (host and path).
 */
export function renderLogUrl(source: string, vars: TemplateVariables): string {
  // A leading variable is a whole base URL, inserted as it is: masked, it stays a URL whose
  // path is all mask.
  const base = leadingVariable(source);
  const maskOf = (root: string, name: string) =>
    base !== undefined &&
    base.name === name &&
    (base.root === root || (root === 'armory' && base.root === 'borealis'))
      ? `http://${LOG_MASK}/${LOG_MASK}`
      : LOG_MASK;
  const secrets: Record<string, string> = Object.create(null);
  for (const name of Object.keys(vars.secrets ?? {})) secrets[name] = maskOf('secrets', name);
  const masked: TemplateVariables = {
    ...vars,
    secrets,
    ...(vars.armory
      ? {
          armory: {
            ...vars.armory,
            ...(vars.armory.callbackUri === undefined
              ? {}
              : { callbackUri: maskOf('armory', 'callbackUri') }),
          },
        }
      : {}),
  };
  try {
    const url = parseHttpUrl(renderResolved(source, masked, 'uri', base).text);
    if (url) return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    // below
  }
  return `http://${LOG_MASK}/${LOG_MASK}`;
}

/** Renders a header value; CR, LF or NUL in the result would split or truncate the header. */
export function renderHeaderValue(source: string, vars: TemplateVariables, headerName = 'header'): string {
  const { text, resolved } = renderResolved(source, vars, 'header');
  if (/[\r\n\0]/.test(text)) {
    const culprits = resolved.filter((r) => /[\r\n\0]/.test(r.value)).map((r) => `{{${r.variable.path}}}`);
    const from = culprits.length > 0 ? ` (from ${culprits.join(', ')})` : '';
    throw new BorealisError(
      'BRL_ERR_TEMPLATE_HEADER_INJECTION',
      `header "${headerName}" would contain a CR, LF or NUL character${from}; header values must be one line`,
      { details: { header: headerName, variables: culprits } },
    );
  }
  return text;
}

/** Renders a JSON body: each value is escaped as the content of a JSON string literal. */
export function renderJsonBody(source: string, vars: TemplateVariables): string {
  return renderTemplate(source, vars, 'json');
}

/** Renders a non-JSON body: values are inserted as they are. */
export function renderTextBody(source: string, vars: TemplateVariables): string {
  return renderTemplate(source, vars, 'text');
}
