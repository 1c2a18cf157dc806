/**
 * The one Handlebars instance that renders webhook requests. It is isolated from the global
 * `Handlebars` (other code registering helpers cannot affect us) and stripped of every helper:
 * `log` reaches the console, `lookup` and `with` are the usual routes to prototype tricks, and we
 * support none of them anyway (templates are checked against the allow-list in variables.ts first).
 */
import Handlebars from 'handlebars';
import { TemplateError } from './template-error.js';

const hb = Handlebars.create();
for (const name of Object.keys(hb.helpers)) hb.unregisterHelper(name);
// The compiled code calls these when something is not a plain path; templates that would need
// them are refused before compilation, so reaching one is a bug worth a loud error.
hb.registerHelper('helperMissing', () => {
  throw new TemplateError('BRL_ERR_TEMPLATE_UNSUPPORTED', 'helpers are not supported in templates');
});
hb.registerHelper('blockHelperMissing', () => {
  throw new TemplateError('BRL_ERR_TEMPLATE_UNSUPPORTED', 'block helpers are not supported in templates');
});

const noBuiltins = {
  helperMissing: false,
  blockHelperMissing: false,
  each: false,
  if: false,
  unless: false,
  with: false,
  log: false,
  lookup: false,
};

const compileOptions: CompileOptions = {
  strict: true,
  // Values are encoded by us for where they land (URI, JSON, header), never HTML-escaped.
  noEscape: true,
  knownHelpers: noBuiltins,
  knownHelpersOnly: true,
  data: false,
  preventIndent: true,
};

const runtimeOptions: RuntimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
  helpers: Object.create(null),
  partials: Object.create(null),
  decorators: Object.create(null),
};

type Compiled = (data: unknown, options?: RuntimeOptions) => string;

// Deploy files reuse a handful of templates for every call; a small bounded cache is plenty.
const cache = new Map<string, Compiled>();
const CACHE_LIMIT = 512;

/** Runs an already allow-listed template against data made only of null-prototype objects and strings. */
export function runSandboxed(source: string, data: unknown): string {
  let compiled = cache.get(source);
  if (!compiled) {
    compiled = hb.compile(source, compileOptions) as Compiled;
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(source, compiled);
  }
  return compiled(data, runtimeOptions);
}
