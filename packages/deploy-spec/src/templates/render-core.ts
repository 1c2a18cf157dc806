import type { TemplateContext } from './context.js';
import { type Encoding, encodeValue } from './encoders.js';
import { runSandboxed } from './sandbox.js';
import { TemplateError } from './template-error.js';
import {
  ANALYSIS_VARIABLES,
  type AnalysisVariable,
  ARMORY_VARIABLES,
  type ArmoryVariable,
  inspectTemplate,
  type TemplateVariable,
} from './variables.js';

/** What templates can see. `borealis.*` is filled from `armory` (the same object). */
export interface TemplateVariables {
  armory?: Partial<Record<ArmoryVariable | AnalysisVariable, string>>;
  /** Already merged (see mergeContext). */
  context?: Readonly<TemplateContext>;
  secrets?: Readonly<Record<string, string>>;
  /** `{{armory.preview.<service>}}`: preview links of services an exposeServices step exposed. */
  armoryPreview?: Readonly<Record<string, string>>;
}

/** `armory.preview.<service>` (three segments; the service name may contain "-"). */
export function isPreviewVariable(v: TemplateVariable): boolean {
  return (v.root === 'armory' || v.root === 'borealis') && v.name === 'preview' && v.segments === 3;
}

export function previewService(v: TemplateVariable): string {
  return v.path.split('.').slice(2).join('.');
}

export type Resolved = { variable: TemplateVariable; value: string };

function lookupOwn(obj: Readonly<Record<string, unknown>> | undefined, key: string): string | undefined {
  if (!obj || !Object.hasOwn(obj, key)) return undefined;
  const value = obj[key];
  return typeof value === 'string' ? value : undefined;
}

function resolve(variable: TemplateVariable, vars: TemplateVariables): string | undefined {
  if (isPreviewVariable(variable)) return lookupOwn(vars.armoryPreview, previewService(variable));
  if (variable.segments !== 2) return undefined;
  switch (variable.root) {
    case 'armory':
    case 'borealis':
      if (!isArmoryName(variable.name)) return undefined;
      return lookupOwn(vars.armory, variable.name);
    case 'context':
      return lookupOwn(vars.context, variable.name);
    case 'secrets':
      return lookupOwn(vars.secrets, variable.name);
    default:
      return undefined;
  }
}

const isArmoryName = (name: string) =>
  (ARMORY_VARIABLES as readonly string[]).includes(name) ||
  (ANALYSIS_VARIABLES as readonly string[]).includes(name);

function missingMessage(v: TemplateVariable, vars: TemplateVariables): string {
  if (isPreviewVariable(v))
    return `{{${v.path}}}: no preview link for service "${previewService(v)}" (an exposeServices step must expose it before this call, on a target driver that can expose services)`;
  if (v.segments !== 2) return `{{${v.path}}} is not a variable: write {{root.name}} (one dot)`;
  switch (v.root) {
    case 'armory':
    case 'borealis':
      if ((ANALYSIS_VARIABLES as readonly string[]).includes(v.name) && !(v.name in (vars.armory ?? {})))
        return `{{${v.path}}} is only set in analysis query templates`;
      return isArmoryName(v.name)
        ? `{{${v.path}}} has no value for this call`
        : `{{${v.path}}} is not a Borealis variable (known: ${[...ARMORY_VARIABLES, ...ANALYSIS_VARIABLES].join(', ')})`;
    case 'context':
      return `{{${v.path}}}: no context variable "${v.name}" (define it in the file's context, the runWebhook context or with --context)`;
    case 'secrets':
      return `{{${v.path}}}: no secret named "${v.name}" (create it with: borealis secrets set ${v.name})`;
    default:
      return `{{${v.path}}}: unknown variable root "${v.root}" (use armory., borealis., context. or secrets.)`;
  }
}

export function renderResolved(
  source: string,
  vars: TemplateVariables,
  encoding: Encoding,
  /** This variable's value is inserted as it is (a URL's leading `{{secrets.url}}`). */
  raw?: TemplateVariable,
): { text: string; resolved: Resolved[] } {
  const inspection = inspectTemplate(source);
  if (!inspection.ok) {
    const { problem } = inspection;
    throw new TemplateError(
      problem.kind === 'syntax' ? 'BRL_ERR_TEMPLATE_SYNTAX' : 'BRL_ERR_TEMPLATE_UNSUPPORTED',
      problem.message,
      { details: { line: problem.line, column: problem.column } },
    );
  }
  // Only the referenced variables are handed to Handlebars, as null-prototype objects of
  // already-encoded strings: there is nothing else in reach.
  const data: Record<string, Record<string, string | Record<string, string>>> = Object.create(null);
  const resolved: Resolved[] = [];
  for (const variable of inspection.variables) {
    const value = resolve(variable, vars);
    if (value === undefined) {
      throw new TemplateError('BRL_ERR_TEMPLATE_MISSING_VAR', missingMessage(variable, vars), {
        details: { variable: variable.path, line: variable.line, column: variable.column },
      });
    }
    resolved.push({ variable, value });
    const encoded = raw !== undefined && variable.path === raw.path ? value : encodeValue(value, encoding);
    data[variable.root] ??= Object.create(null);
    const root = data[variable.root] as Record<string, string | Record<string, string>>;
    if (isPreviewVariable(variable)) {
      root.preview ??= Object.create(null) as Record<string, string>;
      (root.preview as Record<string, string>)[previewService(variable)] = encoded;
    } else root[variable.name] = encoded;
  }
  return { text: runSandboxed(source, data), resolved };
}

/**
 * Renders a `uriTemplate`. Each value is a URI component, so `/`, `?`, `#`, `@` and spaces cannot
 * change the URL's structure (in the host they make it invalid). A value that forms a dot
 * segment (`..`) would still move the path after URL normalisation, so the rendered URL must keep
 * the scheme and path depth the template gives it. Templating the host itself is allowed: the
 * author of the deploy file chose it, and the SSRF guard checks the resolved address.
 */
export function renderUri(source: string, vars: TemplateVariables): string {
  const base = leadingVariable(source);
  const { text, resolved } = renderResolved(source, vars, 'uri', base);
  const url = parseHttpUrl(text);
  if (!url) {
    // The value is known only now (a secret, a start-time context value): say what it must be
    // without repeating it (it may be a secret).
    if (base)
      throw baseUrlError(
        base,
        resolved.map((r) => r.variable.path),
      );
    throw new TemplateError('BRL_ERR_TEMPLATE_INVALID_URI', `uriTemplate does not render to an http(s) URL`, {
      details: { variables: resolved.map((r) => r.variable.path) },
    });
  }
  // Same template with inert values: where the structure should be. A leading variable keeps its
  // value (it is the base URL); the others must not move the path.
  const shapeVars = placeholderVariables(
    resolved.filter((r) => r.variable.path !== base?.path),
    'x',
  );
  if (base) {
    const value = resolved.find((r) => r.variable.path === base.path)?.value ?? '';
    if (isPreviewVariable(base)) shapeVars.armoryPreview = { [previewService(base)]: value };
    else {
      const root = (base.root === 'borealis' ? 'armory' : base.root) as 'armory' | 'context' | 'secrets';
      (shapeVars[root] as Record<string, string>)[base.name] = value;
    }
  }
  const shape = parseHttpUrl(renderResolved(source, shapeVars, 'uri', base).text);
  if (shape && (shape.protocol !== url.protocol || depth(shape.pathname) !== depth(url.pathname))) {
    throw new TemplateError(
      'BRL_ERR_TEMPLATE_INVALID_URI',
      'a substituted value would change the URL path or host (values such as ".." are refused in a URL)',
      { details: { variables: resolved.map((r) => r.variable.path) } },
    );
  }
  return text;
}

function baseUrlError(base: TemplateVariable, variables: string[]): TemplateError {
  return new TemplateError(
    'BRL_ERR_TEMPLATE_INVALID_URI',
    `uriTemplate starts with {{${base.path}}}, whose value must begin with the scheme and host of an absolute http(s) URL (e.g. https://hooks.example.com/...), but it does not`,
    { details: { variables } },
  );
}

/**
 * Checks the value a uriTemplate's leading variable has (before the call: at deployment start,
 * where secrets and context are known). Throws the error rendering would give, naming the
 * variable and never the value; other values of the template are checked when the call is made.
 */
export function checkLeadingValue(base: TemplateVariable, value: string): void {
  const url = parseHttpUrl(value);
  if (!url || url.hostname === '') throw baseUrlError(base, [base.path]);
}

/**
 * The variable a uriTemplate starts with (`{{secrets.slackWebhookUrl}}`, `{{context.uri}}/x`):
 * its value is the base URL, scheme and host included, so it is inserted as it is, and the scheme
 * and host are checked on the rendered URL, when the value is known.
 */
export function leadingVariable(source: string): TemplateVariable | undefined {
  const inspection = inspectTemplate(source);
  if (!inspection.ok) return undefined;
  const first = inspection.ast.body.find(
    (stmt) => !(stmt.type === 'ContentStatement' && (stmt as hbs.AST.ContentStatement).value.trim() === ''),
  );
  if (first?.type !== 'MustacheStatement') return undefined;
  const loc = first.loc?.start;
  return inspection.variables.find((v) => v.line === loc?.line && v.column === loc?.column);
}

function depth(pathname: string): number {
  return pathname.split('/').length;
}

export function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Variables where every referenced value is `placeholder` (used for shape checks). */
export function placeholderVariables(
  resolvedOrPaths: ReadonlyArray<{ variable: TemplateVariable } | TemplateVariable>,
  placeholder: string,
): TemplateVariables & {
  armory: Record<string, string>;
  context: Record<string, string>;
  secrets: Record<string, string>;
} {
  const out = {
    armory: Object.create(null) as Record<string, string>,
    context: Object.create(null) as Record<string, string>,
    secrets: Object.create(null) as Record<string, string>,
  };
  const preview: Record<string, string> = Object.create(null);
  for (const item of resolvedOrPaths) {
    const v = 'variable' in item ? item.variable : item;
    if (isPreviewVariable(v)) {
      preview[previewService(v)] = placeholder;
      continue;
    }
    const root = v.root === 'borealis' ? 'armory' : v.root;
    if (root === 'armory' || root === 'context' || root === 'secrets') out[root][v.name] = placeholder;
  }
  return { ...out, armoryPreview: preview };
}
