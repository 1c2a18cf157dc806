/**
 * Judges webhook templates the way rendering will (templates/ is the one authority on the
 * template language): syntax and allow-list, known variables, header keys, the URL's shape and
 * whether a JSON body renders to JSON.
 */
import type { Scalar } from 'yaml';
import {
  ARMORY_VARIABLES,
  bodyIsJson,
  inspectTemplate,
  isPreviewVariable,
  leadingVariable,
  renderUri,
  TEMPLATE_ROOTS,
  type TemplateVariable,
  type TemplateVariables,
} from '../templates/index.js';
import type { WebhookCallSite } from './call-sites.js';
import type { DiagnosticSink, Position } from './diagnostic.js';
import { didYouMean } from './did-you-mean.js';
import { findJsonProblem } from './json-error.js';
import { scalarValuePosition } from './scalar-positions.js';
import type { DecodeContext } from './schema-language.js';
import { HEADER_NAME_PATTERN } from './schema-webhook.js';
import type { DeploymentSpec } from './spec-types.js';
import { joinPath } from './yaml-nodes.js';

/** Inert stand-in for every variable when checking what a template renders to. */
const PLACEHOLDER = 'placeholder';

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

export function checkTemplates(
  spec: DeploymentSpec,
  sites: readonly WebhookCallSite[],
  ctx: DecodeContext,
  sink: DiagnosticSink,
  /** Services some exposeServices step of the file exposes (for `{{armory.preview.<service>}}`). */
  exposed: ReadonlySet<string> = new Set(),
): void {
  const fileContext = spec.context ?? {};
  (spec.webhooks ?? []).forEach((w, i) => {
    if (!w) return;
    const base = joinPath('webhooks', i);
    const callContexts = sites.filter((s) => s.step.name === w.name).map((s) => s.step.context ?? {});
    const contextDefines = (name: string) =>
      Object.hasOwn(fileContext, name) || callContexts.some((c) => Object.hasOwn(c, name));

    (w.headers ?? []).forEach((h, j) => {
      if (!h || typeof h.key !== 'string') return;
      const path = joinPath(joinPath(joinPath(base, 'headers'), j), 'key');
      const at = ctx.positions.get(path) ?? { line: 1, column: 1 };
      if (h.key.includes('{{')) {
        sink.add(
          'BRL_DF_TEMPLATED_HEADER_KEY',
          at,
          path,
          `header key "${h.key}" contains a template; templating works in header values, never in keys`,
          'write the header name literally and put the template in value:',
        );
      } else if (!HEADER_NAME_PATTERN.test(h.key.trim())) {
        sink.add(
          'BRL_DF_INVALID_HEADER',
          at,
          path,
          `"${h.key}" is not a valid HTTP header name`,
          'header names use letters, digits and -',
        );
      }
      if (typeof h.value === 'string' && /[\r\n\0]/.test(h.value)) {
        const valuePath = joinPath(joinPath(joinPath(base, 'headers'), j), 'value');
        sink.add(
          'BRL_DF_INVALID_HEADER',
          ctx.positions.get(valuePath) ?? at,
          valuePath,
          `the value of header "${h.key}" spans several lines; header values are one line`,
          'write the value on one line, as a plain or quoted scalar (block scalars | and > end with a line break)',
        );
      }
    });

    const uriPath = joinPath(base, 'uriTemplate');
    const uriOk = checkOne(uriPath, ctx, sink, contextDefines, exposed);
    const uriSource = ctx.templates.get(uriPath)?.value;
    // `{{secrets.slackWebhookUrl}}`: the scheme and host come with the value, which only exists
    // when the call is made; rendering checks them then, with the same error.
    const leading = typeof uriSource === 'string' ? leadingVariable(uriSource) : undefined;
    if (uriOk && !leading) {
      const node = ctx.templates.get(uriPath);
      // A value may be a word (a host label, a path segment) or a number (a port): the template
      // is valid if either kind of value renders an absolute URL.
      const renders = (value: string) => {
        try {
          renderUri(String(node?.value), placeholders(uriOk, value));
          return undefined;
        } catch (err) {
          return err;
        }
      };
      const err = renders(PLACEHOLDER) && renders('8080');
      if (err) {
        const code = (err as { code?: string }).code;
        if (code === 'BRL_ERR_TEMPLATE_INVALID_URI') {
          sink.add(
            'BRL_DF_INVALID_URI',
            ctx.positions.get(uriPath) ?? { line: 1, column: 1 },
            uriPath,
            `uriTemplate does not render to an absolute http(s) URL`,
            'write the scheme and host literally, e.g. https://api.example.com/path/{{context.id}}',
          );
        }
      }
    }
    (w.headers ?? []).forEach((_, j) => {
      checkOne(joinPath(joinPath(joinPath(base, 'headers'), j), 'value'), ctx, sink, contextDefines, exposed);
    });
    const bodyPath = joinPath(joinPath(base, 'bodyTemplate'), 'inline');
    const bodyOk = checkOne(bodyPath, ctx, sink, contextDefines, exposed);
    const inline = w.bodyTemplate?.inline;
    if (bodyOk && typeof inline === 'string' && bodyIsJson((w.headers ?? []).filter(Boolean), inline)) {
      checkJsonBody(bodyPath, inline, ctx, sink);
    }
  });
}

function placeholders(vars: readonly TemplateVariable[], value: string = PLACEHOLDER): TemplateVariables {
  const out = {
    armory: {} as Record<string, string>,
    context: {} as Record<string, string>,
    secrets: {} as Record<string, string>,
  };
  for (const v of vars) {
    if (isPreviewVariable(v)) continue;
    const root = v.root === 'borealis' ? 'armory' : v.root;
    if (root === 'armory' || root === 'context' || root === 'secrets') out[root][v.name] = value;
  }
  return out;
}

/** Checks one template string; returns its variables when it is usable, else undefined. */
function checkOne(
  path: string,
  ctx: DecodeContext,
  sink: DiagnosticSink,
  contextDefines: (name: string) => boolean,
  exposed: ReadonlySet<string>,
): TemplateVariable[] | undefined {
  const node = ctx.templates.get(path);
  if (!node) return undefined;
  const source = String(node.value);
  const starts = lineStarts(source);
  const where = (line: number, column: number): Position =>
    scalarValuePosition(node, ctx.source, ctx.lineCounter, (starts[line - 1] ?? 0) + column);
  const inspection = inspectTemplate(source);
  checkOldPlaceholders(path, source, starts, where, sink);
  if (!inspection.ok) {
    const { problem } = inspection;
    sink.add(
      problem.kind === 'syntax' ? 'BRL_DF_TEMPLATE_SYNTAX' : 'BRL_DF_TEMPLATE_UNSUPPORTED',
      where(problem.line, problem.column),
      path,
      problem.message,
      problem.kind === 'syntax'
        ? 'templates look like {{context.name}}; check the braces'
        : 'only {{root.name}} references are supported',
    );
    return undefined;
  }
  let ok = true;
  for (const v of inspection.variables) {
    const at = where(v.line, v.column);
    if (isPreviewVariable(v)) {
      const service = v.path.split('.').slice(2).join('.');
      if (!exposed.has(service)) {
        sink.add(
          'BRL_DF_PREVIEW_NOT_EXPOSED',
          at,
          path,
          `{{${v.path}}}: no exposeServices step of this file exposes the service "${service}"`,
          exposed.size > 0
            ? `exposed services: ${[...exposed].join(', ')}`
            : 'add - exposeServices: {services: [<service>], ttl: {duration: 30, unit: minutes}} to the strategy before this call',
        );
      }
      continue;
    }
    const known = (TEMPLATE_ROOTS as readonly string[]).includes(v.root);
    if (!known || v.segments !== 2) {
      const suggestion = known ? undefined : didYouMean(v.root, TEMPLATE_ROOTS);
      sink.add(
        'BRL_DF_UNKNOWN_TEMPLATE_ROOT',
        at,
        path,
        `{{${v.path}}} is not a template variable`,
        suggestion
          ? `did you mean {{${[suggestion, ...v.path.split('.').slice(1)].join('.')}}}?`
          : 'variables are {{armory.name}}, {{borealis.name}}, {{context.name}} or {{secrets.name}}',
      );
      ok = false;
      continue;
    }
    if (
      (v.root === 'armory' || v.root === 'borealis') &&
      !(ARMORY_VARIABLES as readonly string[]).includes(v.name)
    ) {
      const suggestion = didYouMean(v.name, ARMORY_VARIABLES);
      sink.add(
        'BRL_DF_UNKNOWN_ARMORY_VAR',
        at,
        path,
        `{{${v.path}}} is not a variable Borealis provides`,
        suggestion ? `did you mean {{${v.root}.${suggestion}}}?` : `known: ${ARMORY_VARIABLES.join(', ')}`,
      );
      ok = false;
    } else if (v.root === 'context' && !contextDefines(v.name)) {
      sink.add(
        'BRL_DF_UNKNOWN_TEMPLATE_VAR',
        at,
        path,
        `{{${v.path}}}: no context in this file defines "${v.name}"`,
        `define it in the file's context:, in the context: of each runWebhook that calls this webhook, or pass --context ${v.name}=... at start`,
      );
    }
  }
  return ok ? inspection.variables : undefined;
}

/**
 * `${replicaSetName}`, `${secrets.token}`: the placeholder syntax of Armory's early webhooks. It is
 * not a template here, so it would be sent as written; one warning per value says what to write.
 */
function checkOldPlaceholders(
  path: string,
  source: string,
  starts: number[],
  where: (line: number, column: number) => Position,
  sink: DiagnosticSink,
): void {
  const found = [...source.matchAll(/\$\{([A-Za-z_][\w.-]*)\}/g)];
  const first = found[0];
  if (first?.index === undefined) return;
  const rewrite = (name: string) => {
    if (/^(secrets|context|armory)\./.test(name)) return `{{${name}}}`;
    if ((ARMORY_VARIABLES as readonly string[]).includes(name)) return `{{armory.${name}}}`;
    return `{{context.${name}}}`;
  };
  let line = 0;
  while (line + 1 < starts.length && (starts[line + 1] ?? Infinity) <= first.index) line++;
  const names = [...new Set(found.map((m) => m[1] ?? ''))];
  sink.add(
    'BRL_DF_OLD_PLACEHOLDER',
    where(line + 1, first.index - (starts[line] ?? 0)),
    path,
    `${names.map((n) => `\${${n}}`).join(', ')} ${names.length === 1 ? 'is' : 'are'} Armory's old placeholder syntax, which Borealis does not substitute: ${names.length === 1 ? 'it is' : 'they are'} sent as written`,
    `write ${names.map((n) => rewrite(n)).join(', ')}`,
  );
}

/**
 * Renders the body with placeholder strings and parses it. Tracks which template offset each
 * rendered character came from, so the warning points at the line to fix.
 */
function checkJsonBody(path: string, source: string, ctx: DecodeContext, sink: DiagnosticSink): void {
  const inspection = inspectTemplate(source);
  if (!inspection.ok) return;
  const starts = lineStarts(source);
  const pieces: Array<{ renderedStart: number; templateStart: number; length: number; literal: boolean }> =
    [];
  let rendered = '';
  for (const stmt of inspection.ast.body) {
    const loc = stmt.loc?.start ?? { line: 1, column: 0 };
    const templateStart = (starts[loc.line - 1] ?? 0) + loc.column;
    const text =
      stmt.type === 'ContentStatement'
        ? (stmt as hbs.AST.ContentStatement).value
        : stmt.type === 'MustacheStatement'
          ? PLACEHOLDER
          : '';
    pieces.push({
      renderedStart: rendered.length,
      templateStart,
      length: text.length,
      literal: stmt.type === 'ContentStatement',
    });
    rendered += text;
  }
  try {
    JSON.parse(rendered);
    return;
  } catch {
    const problem = findJsonProblem(rendered) ?? { offset: rendered.length, expected: 'valid JSON' };
    // A missing comma is noticed at the next line's first token; the line to fix is the one
    // before, so point after the last meaningful character when a line break lies in between.
    let offset = problem.offset;
    let back = offset - 1;
    while (back >= 0 && /\s/.test(rendered[back]!)) back--;
    if (back >= 0 && rendered.slice(back + 1, offset).includes('\n')) offset = back + 1;
    let templateOffset = 0;
    for (const p of pieces) {
      if (p.renderedStart > offset) break;
      templateOffset = p.literal
        ? p.templateStart + Math.min(offset - p.renderedStart, p.length)
        : p.templateStart;
    }
    const node = ctx.templates.get(path) as Scalar;
    const at = scalarValuePosition(node, ctx.source, ctx.lineCounter, templateOffset);
    const hint = /^a , or/.test(problem.expected)
      ? 'a comma is probably missing at the end of this line'
      : /trailing comma/.test(problem.expected)
        ? 'remove the trailing comma before }'
        : 'template values are inserted as JSON string content, so write "key": "{{context.name}}"';
    sink.add(
      'BRL_DF_BODY_NOT_JSON',
      at,
      path,
      `bodyTemplate.inline is sent as JSON but does not render to valid JSON: expected ${problem.expected}`,
      hint,
    );
  }
}
