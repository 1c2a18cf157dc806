import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar, type Node } from 'yaml';
import { checkAnalysis } from './analysis-checks.js';
import { allSteps, webhookCallSites } from './call-sites.js';
import { crossCheck } from './cross-checks.js';
import { decode } from './decode.js';
import { type Diagnostic, DiagnosticSink, type Position } from './diagnostic.js';
import { readSource } from './read-source.js';
import { deployFileSchema, slugOf } from './schema.js';
import type { DecodeContext } from './schema-language.js';
import type { DeploymentSpec } from './spec-types.js';
import { checkTemplates } from './template-checks.js';
import { posOf } from './yaml-nodes.js';

export interface ParseOptions {
  /** Only used in messages. */
  fileName?: string;
  /**
   * The directory of the deploy file, when it is a file on disk (`deploy validate -f`): then
   * every `manifests[].path` must exist there. Text received over the API has no directory, so
   * those paths cannot be checked there.
   */
  baseDir?: string;
  /**
   * The metric providers that exist (the control plane passes them at start): every query an
   * analysis runs must resolve to one of them. Offline validation leaves it out.
   */
  metricProviders?: readonly string[];
}

export interface ParseResult {
  /** Present only when there are no errors (warnings allowed). */
  spec?: DeploymentSpec;
  /** Every problem of the file, errors and warnings, in file order. */
  diagnostics: Diagnostic[];
}

/**
 * Reads, validates and normalises a deploy file. Never throws: every problem, including
 * unreadable input, is a diagnostic with a line, a column and a hint.
 */
export function parseDeployFile(text: string | Uint8Array, opts: ParseOptions = {}): ParseResult {
  const sink = new DiagnosticSink();
  let spec: DeploymentSpec | undefined;
  try {
    spec = validate(text, sink, opts);
  } catch (err) {
    // A validator bug must not become a 500 or a crashed CLI; say so plainly instead.
    sink.add(
      'BRL_DF_INTERNAL',
      { line: 1, column: 1 },
      '',
      `the validator failed on this file: ${err instanceof Error ? err.message : String(err)}`,
      'please report this with the file',
    );
    spec = undefined;
  }
  const diagnostics = sink.sorted();
  return sink.hasErrors() || !spec ? { diagnostics } : { spec, diagnostics };
}

function validate(
  text: string | Uint8Array,
  sink: DiagnosticSink,
  opts: ParseOptions,
): DeploymentSpec | undefined {
  const read = readSource(text, sink);
  if (!read.doc || !read.usable) return undefined;
  const contents = read.doc.contents as Node | null;
  const ctx: DecodeContext = {
    doc: read.doc,
    lineCounter: read.lineCounter,
    source: read.source,
    sink,
    positions: new Map(),
    keyPositions: new Map(),
    templates: new Map(),
    inAlias: 0,
    aliasVisits: 0,
  };
  if (!contents || (isScalar(contents) && contents.value === null)) {
    sink.add(
      'BRL_DF_EMPTY',
      { line: 1, column: 1 },
      '',
      'the deploy file is empty',
      'start with application: and targets:',
    );
    return undefined;
  }
  if (!isMap(contents)) {
    sink.add(
      'BRL_DF_TYPE',
      posOf(contents, ctx),
      '',
      'a deploy file must be a mapping of keys (application, targets, webhooks, ...)',
      'start the file with application: <name>',
    );
    return undefined;
  }
  const decoded = decode(deployFileSchema, contents, '', ctx) as Partial<DeploymentSpec> | undefined;
  if (!decoded) return undefined;
  // With shape errors the decoded value is partial; the checks below still run on what is there
  // so that one run reports every problem. Missing collections are read as empty.
  const raw: DeploymentSpec = {
    ...decoded,
    targets: decoded.targets ?? {},
    strategies: decoded.strategies ?? {},
    webhooks: decoded.webhooks ?? [],
    manifests: decoded.manifests ?? [],
    trafficManagement: decoded.trafficManagement ?? [],
    analysis: { ...decoded.analysis, queries: decoded.analysis?.queries ?? [] },
    context: decoded.context ?? {},
  } as DeploymentSpec;
  if (typeof decoded.application === 'string') raw.applicationSlug = slugOf(decoded.application);
  const loc = {
    at: (path: string): Position =>
      ctx.positions.get(path) ?? ctx.keyPositions.get(path) ?? { line: 1, column: 1 },
    keyAt: (path: string): Position =>
      ctx.keyPositions.get(path) ?? ctx.positions.get(path) ?? { line: 1, column: 1 },
    has: (path: string): boolean => ctx.keyPositions.has(path) || ctx.positions.has(path),
  };
  crossCheck(raw, loc, sink);
  if (opts.baseDir !== undefined) checkManifestPaths(raw, opts.baseDir, loc, sink);
  const exposed = new Set<string>();
  for (const { step } of allSteps(raw))
    if (step.type === 'exposeServices' && Array.isArray(step.services))
      for (const service of step.services) if (typeof service === 'string') exposed.add(service);
  checkTemplates(raw, webhookCallSites(raw), ctx, sink, exposed);
  checkAnalysis(raw, loc, sink, opts.metricProviders);
  return raw;
}

/** `manifests[].path` is relative to the deploy file's directory (a file or a directory). */
function checkManifestPaths(
  spec: DeploymentSpec,
  baseDir: string,
  loc: { at(path: string): Position },
  sink: DiagnosticSink,
): void {
  spec.manifests.forEach((m, i) => {
    if (!m || !('path' in m) || typeof m.path !== 'string') return;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(m.path)) return; // a URL, not a local path
    const full = resolve(baseDir, m.path);
    if (existsSync(full)) return;
    const path = `manifests[${i}].path`;
    sink.add(
      'BRL_DF_MANIFEST_NOT_FOUND',
      loc.at(path),
      path,
      `manifest path ${JSON.stringify(m.path)} does not exist (looked for ${full})`,
      'paths are relative to the directory of the deploy file; correct the path or add the file',
    );
  });
}
