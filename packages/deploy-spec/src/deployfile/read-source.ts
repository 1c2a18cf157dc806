/**
 * From bytes to a YAML document, refusing early what would make the YAML parser slow or fragile:
 * oversized input, invalid UTF-8, binary content and extreme flow nesting (the parser recurses and
 * can exhaust memory at a few thousand levels). Syntax errors are translated into messages that
 * say how to fix them, the `{{` trap first of all.
 */
import { type Document, Lexer, LineCounter, parseDocument, type YAMLError } from 'yaml';
import type { DiagnosticSink, Position } from './diagnostic.js';

/** Real deploy files are tens of kilobytes; a megabyte leaves room for inline manifests. */
export const MAX_DEPLOY_FILE_BYTES = 1024 * 1024;
/** Flow collections (`[`, `{`) nested deeper than this are refused before parsing. */
export const MAX_FLOW_DEPTH = 64;

export interface ReadResult {
  source: string;
  doc?: Document;
  lineCounter: LineCounter;
  /** false when the YAML is too broken for schema checks to say anything useful. */
  usable: boolean;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function positionOfOffset(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of the first byte that is not part of valid UTF-8. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const need =
      b < 0x80
        ? 0
        : b >= 0xc2 && b <= 0xdf
          ? 1
          : b >= 0xe0 && b <= 0xef
            ? 2
            : b >= 0xf0 && b <= 0xf4
              ? 3
              : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += need + 1;
  }
  return Math.max(0, bytes.length - 1);
}

/** Tab, LF and CR are the only control characters a YAML text file needs. */
function firstControlCharacter(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return i;
  }
  return -1;
}

export function readSource(input: string | Uint8Array, sink: DiagnosticSink): ReadResult {
  const lineCounter = new LineCounter();
  const none = (source = ''): ReadResult => ({ source, lineCounter, usable: false });
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > MAX_DEPLOY_FILE_BYTES) {
    sink.add(
      'BRL_DF_TOO_LARGE',
      { line: 1, column: 1 },
      '',
      `the file is ${size} bytes; deploy files may be at most ${MAX_DEPLOY_FILE_BYTES} bytes (1 MiB)`,
      'move large inline manifests into files referenced with manifests[].path',
    );
    return none();
  }
  let source: string;
  if (typeof input === 'string') source = input;
  else {
    try {
      source = decoder.decode(input);
    } catch {
      const offset = firstInvalidUtf8(input);
      const prefix = new TextDecoder('utf-8').decode(input.subarray(0, offset));
      sink.add(
        'BRL_DF_ENCODING',
        positionOfOffset(prefix, prefix.length),
        '',
        `the file is not valid UTF-8 (byte 0x${(input[offset] ?? 0).toString(16).padStart(2, '0')} at offset ${offset})`,
        'save the file as UTF-8 text',
      );
      return none();
    }
  }
  if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);
  const control = firstControlCharacter(source);
  if (control !== -1) {
    const code = source.charCodeAt(control).toString(16).padStart(4, '0').toUpperCase();
    sink.add(
      'BRL_DF_BINARY',
      positionOfOffset(source, control),
      '',
      `the file contains the control character U+${code}; it looks like binary data, not a YAML deploy file`,
      'check that you passed the right file',
    );
    return none(source);
  }
  if (
    /^\s*$/.test(
      source
        .replace(/^\s*#.*$/gm, '')
        .replace(/^---\s*$/gm, '')
        .replace(/^\.\.\.\s*$/gm, ''),
    )
  ) {
    sink.add(
      'BRL_DF_EMPTY',
      { line: 1, column: 1 },
      '',
      'the deploy file is empty',
      'start with application: and targets:',
    );
    return none(source);
  }
  const deep = tooDeepAt(source);
  if (deep !== undefined) {
    sink.add(
      'BRL_DF_TOO_DEEP',
      positionOfOffset(source, deep),
      '',
      `collections are nested more than ${MAX_FLOW_DEPTH} levels deep`,
      'a deploy file never needs this; check the file',
    );
    return none(source);
  }

  const doc = parseDocument(source, {
    lineCounter,
    keepSourceTokens: true,
    prettyErrors: false,
    // yaml's own duplicate-key check is quadratic in the size of a mapping; the schema walker
    // finds duplicates in linear time instead.
    uniqueKeys: false,
    strict: true,
  });
  const worth = yamlErrorsWorthReporting(doc.errors, source, lineCounter, sink);
  let usable = !worth.causeReported;
  for (const err of worth.errors) {
    if (!reportYamlError(err, source, lineCounter, sink)) usable = false;
  }
  return { source, doc, lineCounter, usable };
}

/** Offset at which flow nesting exceeds the limit, using yaml's own (iterative) lexer. */
function tooDeepAt(source: string): number | undefined {
  let opens = 0;
  for (let i = 0; i < source.length && opens <= MAX_FLOW_DEPTH; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) opens++;
  }
  if (opens <= MAX_FLOW_DEPTH) return undefined; // cannot nest deeper than it opens
  let depth = 0;
  let offset = 0;
  for (const token of new Lexer().lex(source)) {
    if (token === '[' || token === '{') {
      if (++depth > MAX_FLOW_DEPTH) return offset;
    } else if (token === ']' || token === '}') depth = Math.max(0, depth - 1);
    offset += token.length;
  }
  return undefined;
}

/** Parser errors after which the tree is still what the author meant. */
const RECOVERABLE = new Set(['MULTIPLE_DOCS', 'DUPLICATE_KEY']);

function lineText(source: string, lc: LineCounter, line: number): string {
  const start = lc.lineStarts[line - 1];
  if (start === undefined) return '';
  const end = source.indexOf('\n', start);
  return source.slice(start, end === -1 ? undefined : end).replace(/\r$/, '');
}

const indentOf = (text: string) => /^ */.exec(text)?.[0].length ?? 0;
const isBlankOrComment = (text: string) => /^\s*(#.*)?$/.test(text);

/**
 * The parser often reports one mistake several times (a tab: the tab and the nesting it breaks;
 * an unindented block scalar: every line of it). People need the cause once, with the fix; the
 * cause is reported here and the echoes are dropped.
 */
function yamlErrorsWorthReporting(
  errors: readonly YAMLError[],
  source: string,
  lc: LineCounter,
  sink: DiagnosticSink,
): { errors: YAMLError[]; causeReported: boolean } {
  const syntax = errors.filter((e) => !RECOVERABLE.has(e.code) && e.code !== 'RESOURCE_EXHAUSTION');
  const others = errors.filter((e) => !syntax.includes(e));
  if (syntax.length === 0) return { errors: [...errors], causeReported: false };
  // Tabs: one error, at the first tab-indented line, naming the others.
  const tabLines = [
    ...new Set(syntax.filter((e) => e.code === 'TAB_AS_INDENT').map((e) => lc.linePos(e.pos[0]).line)),
  ];
  if (tabLines.length > 0) {
    const first = tabLines[0]!;
    sink.add(
      'BRL_DF_YAML_SYNTAX',
      { line: first, column: 1 },
      '',
      `line ${first} is indented with a tab${tabLines.length > 2 ? ` (so are lines ${tabLines.slice(1).join(', ')})` : tabLines.length === 2 ? ` (so is line ${tabLines[1]})` : ''}; YAML indentation is spaces only`,
      'replace the tabs at the start of these lines with spaces (two per level); set your editor to insert spaces',
    );
    return { errors: others, causeReported: true };
  }
  // A block scalar (`inline: >-`, `value: |`) whose text is not indented under its key.
  const firstLine = Math.min(...syntax.map((e) => lc.linePos(e.pos[0]).line));
  const block = unindentedBlockScalar(source, lc, firstLine);
  if (block) {
    sink.add(
      'BRL_DF_YAML_SYNTAX',
      { line: block.line + 1, column: 1 },
      '',
      `the text of the block scalar "${block.key}: ${block.indicator}" (line ${block.line}) is not indented under ${block.key}, so YAML reads it as keys of the mapping around it`,
      `indent every line of the text at least ${block.keyIndent + 2 - block.textIndent} more space(s), deeper than "${block.key}:" (column ${block.keyIndent + 1})`,
    );
    return { errors: others, causeReported: true };
  }
  return { errors: [...errors], causeReported: false };
}

/** The block-scalar header nearest above `errorLine` whose following text is not indented. */
function unindentedBlockScalar(
  source: string,
  lc: LineCounter,
  errorLine: number,
): { line: number; key: string; indicator: string; keyIndent: number; textIndent: number } | undefined {
  for (let line = errorLine; line >= 1 && line >= errorLine - 50; line--) {
    const text = lineText(source, lc, line);
    const m = /^(\s*(?:-\s+)?)([^\s#'"][^:#]*?):\s+([|>][-+0-9]*)\s*(?:#.*)?$/.exec(text);
    if (!m) continue;
    const keyIndent = (m[1] ?? '').length;
    let next = line + 1;
    while (next <= lc.lineStarts.length && lineText(source, lc, next).trim() === '') next++;
    const nextText = lineText(source, lc, next);
    const textIndent = indentOf(nextText);
    if (next > errorLine + 1 || textIndent > keyIndent || nextText.trim() === '') return undefined;
    return { line, key: (m[2] ?? '').trim(), indicator: m[3] ?? '|', keyIndent, textIndent };
  }
  return undefined;
}

const YAML_HINTS: Record<string, string> = {
  BAD_INDENT: 'indent nested keys with spaces, consistently (two more than their parent)',
  TAB_AS_INDENT: 'use spaces, not tabs, for indentation',
  MISSING_CHAR: 'a closing quote or bracket is missing',
  BLOCK_AS_IMPLICIT_KEY:
    'a value on the same line as its key cannot start a nested mapping; check the indentation',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; check the indentation of the line before',
  BAD_ALIAS: 'an alias (*name) must refer to an anchor (&name) defined before it',
  RESOURCE_EXHAUSTION: 'the file is nested too deeply or uses too many aliases',
};

/** Reports one parser error; returns whether schema checks can still trust the tree. */
function reportYamlError(err: YAMLError, source: string, lc: LineCounter, sink: DiagnosticSink): boolean {
  const { line, col } = lc.linePos(err.pos[0]);
  const at = { line, column: col };
  if (err.code === 'MULTIPLE_DOCS') {
    sink.add(
      'BRL_DF_MULTIPLE_DOCUMENTS',
      at,
      '',
      'the file contains more than one YAML document',
      'a deploy file is one document: remove the "---" separator and what follows, or split the files',
    );
    return true;
  }
  if (err.code === 'DUPLICATE_KEY') {
    sink.add('BRL_DF_DUPLICATE_KEY', at, '', 'a key appears twice', 'remove one of them');
    return true;
  }
  if (err.code === 'RESOURCE_EXHAUSTION' && /stack/i.test(err.message)) {
    sink.add(
      'BRL_DF_TOO_DEEP',
      { line: 1, column: 1 },
      '',
      'the file is nested too deeply to read',
      YAML_HINTS.RESOURCE_EXHAUSTION,
    );
    return false;
  }
  if (err.code === 'RESOURCE_EXHAUSTION') {
    sink.add(
      'BRL_DF_ALIAS_LIMIT',
      at,
      '',
      'YAML aliases expand to too many nodes',
      YAML_HINTS.RESOURCE_EXHAUSTION,
    );
    return false;
  }
  const trap = unquotedTemplateOnLine(source, lc, line);
  if (trap) {
    sink.add(
      'BRL_DF_UNQUOTED_TEMPLATE',
      trap.at,
      '',
      `the value ${trap.value} starts with "{{" and is not quoted: YAML reads "{" as the start of a mapping`,
      `quote the value: ${trap.key}${trap.key === '-' ? '' : ':'} "${trap.value.replace(/"/g, '\\"')}"`,
    );
    return true;
  }
  const glued = gluedKeyNear(source, lc, line);
  if (glued) {
    sink.add(
      'BRL_DF_YAML_SYNTAX',
      glued.at,
      '',
      `"${glued.text}": there is no space after the colon, so YAML does not read ${glued.key} as a key`,
      `write a space after the colon: ${glued.key}: ${glued.value}`,
    );
    return false;
  }
  const first = err.message.split('\n')[0] ?? err.message;
  // The parser may place an indentation error on the comment or blank line before the key.
  let where = at;
  if (isBlankOrComment(lineText(source, lc, line))) {
    let next = line + 1;
    while (next <= lc.lineStarts.length && isBlankOrComment(lineText(source, lc, next))) next++;
    if (next <= lc.lineStarts.length)
      where = { line: next, column: indentOf(lineText(source, lc, next)) + 1 };
  }
  sink.add('BRL_DF_YAML_SYNTAX', where, '', `YAML syntax error: ${first}`, YAML_HINTS[err.code]);
  return false;
}

/** `dependsOn:["x"]` on the error's line or the line above: a key glued to its value. */
function gluedKeyNear(
  source: string,
  lc: LineCounter,
  line: number,
): { key: string; value: string; text: string; at: Position } | undefined {
  for (const candidate of [line, line - 1]) {
    if (candidate < 1) continue;
    const text = lineText(source, lc, candidate);
    const m = /^(\s*(?:-\s+)?)([A-Za-z_][\w-]*):([^\s/].*?)\s*(?:\s#.*)?$/.exec(text);
    if (!m) continue;
    const value = m[3] ?? '';
    if (/^\d+$/.test(value)) continue; // a time like 12:30
    return {
      key: m[2] ?? '',
      value,
      text: `${m[2]}:${value}`,
      at: { line: candidate, column: (m[1] ?? '').length + 1 },
    };
  }
  return undefined;
}

/** `key: {{...}}more` on a line: the common copy-paste trap from the product page. */
function unquotedTemplateOnLine(
  source: string,
  lc: LineCounter,
  line: number,
): { key: string; value: string; at: Position } | undefined {
  const start = lc.lineStarts[line - 1];
  if (start === undefined) return undefined;
  const end = source.indexOf('\n', start);
  const text = source.slice(start, end === -1 ? undefined : end).replace(/\r$/, '');
  const m = /^(\s*(?:-\s+)?)([^\s:#'"][^:#]*?):\s+(\{\{.*?)\s*(?:\s#.*)?$/.exec(text);
  if (!m) {
    // A list item: `- {{context.a}}/b`.
    const item = /^(\s*-\s+)(\{\{.*?)\s*(?:\s#.*)?$/.exec(text);
    if (!item) return undefined;
    return { key: '-', value: item[2] ?? '', at: { line, column: (item[1] ?? '').length + 1 } };
  }
  const key = m[2] ?? 'value';
  const value = m[3] ?? '';
  return { key, value, at: { line, column: text.indexOf(value, (m[1] ?? '').length + key.length) + 1 } };
}
