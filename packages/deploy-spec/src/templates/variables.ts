/**
 * The template language Borealis accepts is deliberately tiny: literal text, comments and
 * `{{root.name}}` / `{{{root.name}}}` references. No helpers, blocks, partials, sub-expressions,
 * `@data` or `../` paths: each of those is a way to reach something other than the strings we
 * hand in, and deploy files have never needed them. Checking the parsed template against this
 * allow-list BEFORE compiling is the primary defence; the sandboxed Handlebars instance is the
 * second.
 */
import Handlebars from 'handlebars';

/** Values Borealis fills in for every webhook call. `borealis.*` is an alias of `armory.*`. */
export const ARMORY_VARIABLES = [
  'callbackUri',
  'deploymentId',
  'applicationName',
  'environmentName',
  'accountName',
  'namespace',
  'replicaSetName',
] as const;

export type ArmoryVariable = (typeof ARMORY_VARIABLES)[number];

/**
 * Values Borealis fills in for `analysis` query templates only: the judgment's window, as Armory
 * names them. `intervalMillis`/`intervalSeconds`/`promQlStepInterval` are the window's length.
 */
export const ANALYSIS_VARIABLES = [
  'startTimeIso8601',
  'startTimeEpochSeconds',
  'startTimeEpochMillis',
  'endTimeIso8601',
  'endTimeEpochSeconds',
  'endTimeEpochMillis',
  'intervalMillis',
  'intervalSeconds',
  'promQlStepInterval',
] as const;
export type AnalysisVariable = (typeof ANALYSIS_VARIABLES)[number];

/** The `armory.*` names a query template may use: the window plus the deployment's own. */
export const QUERY_ARMORY_VARIABLES: readonly string[] = [
  ...ANALYSIS_VARIABLES,
  ...ARMORY_VARIABLES.filter((v) => v !== 'callbackUri'),
];

export const TEMPLATE_ROOTS = ['armory', 'borealis', 'context', 'secrets'] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

export interface TemplateVariable {
  /** Dotted path as written, e.g. `context.environment`. */
  path: string;
  root: string;
  /** Second segment (the variable's name inside its root); empty when missing. */
  name: string;
  /** Number of path segments; valid references have exactly two. */
  segments: number;
  /** 1-based line and 0-based column inside the template text. */
  line: number;
  column: number;
}

export interface TemplateProblem {
  kind: 'syntax' | 'unsupported';
  message: string;
  line: number;
  column: number;
}

export type TemplateInspection =
  | { ok: true; variables: TemplateVariable[]; ast: hbs.AST.Program }
  | { ok: false; problem: TemplateProblem };

// One parser instance for inspection; parsing never executes anything.
const parser = Handlebars.create();

/**
 * Inspections by template text. Deploy files use a handful of templates, the same ones at every
 * start, and each is inspected several times per start (validation, then the secrets it names and
 * its rendering at every call): parsing it was a tenth of a deployment start (issue 17).
 */
const inspections = new Map<string, TemplateInspection>();
const INSPECTION_CACHE_LIMIT = 512;
/** Longer templates are inspected every time rather than kept. */
const INSPECTION_CACHE_MAX_SOURCE = 16 * 1024;

/**
 * Parses a template and checks it against the allow-list; never throws. The answer may be shared
 * with other callers (it is frozen, the AST aside): read it, never change it.
 */
export function inspectTemplate(source: string): TemplateInspection {
  const known = inspections.get(source);
  if (known) return known;
  const inspection = inspectUncached(source);
  if (source.length <= INSPECTION_CACHE_MAX_SOURCE) {
    if (inspections.size >= INSPECTION_CACHE_LIMIT)
      inspections.delete(inspections.keys().next().value as string);
    inspections.set(source, inspection);
  }
  return inspection;
}

function inspectUncached(source: string): TemplateInspection {
  let ast: hbs.AST.Program;
  try {
    ast = parser.parse(source);
  } catch (err) {
    return Object.freeze({ ok: false, problem: Object.freeze(syntaxProblem(err)) });
  }
  const variables: TemplateVariable[] = [];
  for (const stmt of ast.body) {
    const problem = checkStatement(stmt, variables);
    if (problem) return Object.freeze({ ok: false, problem: Object.freeze(problem) });
  }
  for (const v of variables) Object.freeze(v);
  return Object.freeze({ ok: true, variables: Object.freeze(variables) as TemplateVariable[], ast });
}

/** The distinct variable paths a template references, e.g. `['armory.callbackUri', 'secrets.token']`. */
export function listTemplateVariables(source: string): string[] {
  const inspection = inspectTemplate(source);
  if (!inspection.ok) return [];
  return [...new Set(inspection.variables.map((v) => v.path))];
}

function checkStatement(stmt: hbs.AST.Statement, out: TemplateVariable[]): TemplateProblem | undefined {
  const loc = stmt.loc?.start ?? { line: 1, column: 0 };
  switch (stmt.type) {
    case 'ContentStatement':
    case 'CommentStatement':
      return undefined;
    case 'MustacheStatement': {
      const m = stmt as hbs.AST.MustacheStatement;
      if (m.path.type !== 'PathExpression' || m.params.length > 0 || (m.hash?.pairs.length ?? 0) > 0) {
        return unsupported('helpers and parameters are not supported; write {{context.name}}', loc);
      }
      const p = m.path as hbs.AST.PathExpression;
      if (p.data) return unsupported(`@data variables like {{${p.original}}} are not supported`, loc);
      if (p.depth > 0 || p.parts.length === 0 || /^(this|\.)/.test(p.original)) {
        return unsupported(
          `{{${p.original}}} is not supported; write a full path like {{context.name}}`,
          loc,
        );
      }
      out.push({
        path: p.parts.join('.'),
        root: p.parts[0] ?? '',
        name: p.parts[1] ?? '',
        segments: p.parts.length,
        line: loc.line,
        column: loc.column,
      });
      return undefined;
    }
    case 'BlockStatement':
      return unsupported('block helpers ({{#...}}) are not supported in Borealis templates', loc);
    case 'PartialStatement':
    case 'PartialBlockStatement':
      return unsupported('partials ({{> ...}}) are not supported in Borealis templates', loc);
    case 'DecoratorBlock':
    case 'Decorator':
      return unsupported('decorators are not supported in Borealis templates', loc);
    default:
      return unsupported(`unsupported template construct ${stmt.type}`, loc);
  }
}

function unsupported(message: string, loc: { line: number; column: number }): TemplateProblem {
  return { kind: 'unsupported', message, line: loc.line, column: loc.column };
}

function syntaxProblem(err: unknown): TemplateProblem {
  const text = err instanceof Error ? err.message : String(err);
  // Handlebars: "Parse error on line N:\n<source line>\n-----^\nExpecting ..., got 'X'".
  const lines = text.split('\n');
  const line = Number(/line (\d+)/.exec(lines[0] ?? '')?.[1] ?? 1);
  const caret = lines.find((l) => /^-*\^$/.test(l));
  const column = caret ? caret.length - 1 : 0;
  const last = lines[lines.length - 1] ?? text;
  const got = /got '([^']+)'/.exec(last)?.[1];
  const why =
    got === 'EOF' || got === 'INVALID'
      ? 'a {{ is not closed with }}'
      : got
        ? `unexpected ${got.toLowerCase().replace(/_/g, ' ')}`
        : last;
  return { kind: 'syntax', message: `template syntax error: ${why}`, line, column };
}
