import { isMap, isScalar, type Node } from 'yaml';
import { crossCheck, webhookCallSites } from './cross-checks.js';
import { type Diagnostic, DiagnosticSink, type Position } from './diagnostic.js';
import { readSource } from './read-source.js';
import { deployFileSchema } from './schema.js';
import { type DecodeContext, decode, posOf } from './schema-kit.js';
import type { DeploymentSpec } from './spec-types.js';
import { checkTemplates } from './template-checks.js';

export interface ParseOptions {
  /** Only used in messages. */
  fileName?: string;
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
export function parseDeployFile(text: string | Uint8Array, _opts: ParseOptions = {}): ParseResult {
  const sink = new DiagnosticSink();
  let spec: DeploymentSpec | undefined;
  try {
    spec = validate(text, sink);
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

function validate(text: string | Uint8Array, sink: DiagnosticSink): DeploymentSpec | undefined {
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
  const loc = {
    at: (path: string): Position =>
      ctx.positions.get(path) ?? ctx.keyPositions.get(path) ?? { line: 1, column: 1 },
    keyAt: (path: string): Position =>
      ctx.keyPositions.get(path) ?? ctx.positions.get(path) ?? { line: 1, column: 1 },
  };
  crossCheck(raw, loc, sink);
  checkTemplates(raw, webhookCallSites(raw), ctx, sink);
  return raw;
}
