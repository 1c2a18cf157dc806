/**
 * A small declarative schema language and the one walker that applies it to the YAML tree.
 * The walker works on yaml's nodes (not on `toJS()` output) so that every value keeps its line
 * and column, every problem is reported (the walk never stops at the first), defaults are applied
 * here and nowhere else, and alternative spellings are folded into the canonical one.
 */
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Scalar,
  visit,
} from 'yaml';
import type { DiagnosticCode } from './codes.js';
import type { DiagnosticSink, Position } from './diagnostic.js';
import { didYouMean } from './did-you-mean.js';

// --- schema ----------------------------------------------------------------------------------

export interface RefineAt {
  path: string;
  pos: Position;
  node: Node;
  ctx: DecodeContext;
  report(code: DiagnosticCode, message: string, hint?: string, pos?: Position): void;
}

interface Base {
  /** Post-processing (checks needing several fields, normalisation); `undefined` = invalid. */
  // `never`: each schema's refine takes the shape its own fields decode to.
  refine?: (value: never, at: RefineAt) => unknown;
  /**
   * Reshaping that never reports (a type tag, a name from the key). It runs even when the part
   * has errors inside, so that whole-file checks still see what the part holds: one bad value
   * must not hide the other problems of its block.
   */
  normalize?: (value: never) => unknown;
}

export interface StringSchema extends Base {
  kind: 'string';
  /**
   * Allowed values, matched case-insensitively (Armory's schema does, and its `template` command
   * writes `SECONDS`); the result is the canonical spelling given here.
   */
  enum?: readonly string[];
  enumCode?: DiagnosticCode;
  pattern?: RegExp;
  patternHint?: string;
  /** Accept numbers and booleans, as their text (context values, header values). */
  coerce?: boolean;
  /** A Handlebars template: remembered for the template checks. */
  template?: boolean;
  nonEmpty?: boolean;
}
export interface IntSchema extends Base {
  kind: 'int';
  min?: number;
  max?: number;
  rangeCode?: DiagnosticCode;
  rangeHint?: string;
}
export interface NumberSchema extends Base {
  kind: 'number';
}
export interface BoolSchema extends Base {
  kind: 'bool';
}
export interface Field {
  schema: Schema;
  required?: boolean;
  /** Applied when the key is absent or has no value. Functions give a fresh value each time. */
  default?: () => unknown;
  /** A key Armory once accepted and later dropped: accepted, not kept, warned about with this text. */
  ignored?: string;
  /** Optional, but when written it needs a value (`account:` alone is a mistake, not an omission). */
  valueRequired?: boolean;
}
export interface ObjectSchema extends Base {
  kind: 'object';
  what: string;
  /** How to write it, for when something else (a number, a text) stands where it belongs. */
  typeHint?: string;
  fields: Record<string, Field>;
  /** Other spelling -> canonical key. */
  aliases?: Record<string, string>;
}
export interface MapSchema extends Base {
  kind: 'map';
  what: string;
  values: Schema;
  keyPattern?: RegExp;
  keyHint?: string;
  minEntries?: number;
  /** What one entry is called in messages ("target", "strategy"). */
  entry?: string;
  /** `context: []` appears in the wild; an empty list means an empty dictionary. */
  emptyListIsEmpty?: boolean;
}
export interface ListSchema extends Base {
  kind: 'list';
  what: string;
  items: Schema;
  minItems?: number;
}
export interface OneKeySchema extends Base {
  kind: 'oneKey';
  what: string;
  variants: Record<string, Schema>;
  /** Variant names valid in other lists, with the reason they are not valid here. */
  notHere?: Record<string, string>;
}
export interface AnySchema extends Base {
  kind: 'any';
}

export type Schema =
  | StringSchema
  | IntSchema
  | NumberSchema
  | BoolSchema
  | ObjectSchema
  | MapSchema
  | ListSchema
  | OneKeySchema
  | AnySchema;

// --- walker ----------------------------------------------------------------------------------

/** Aliases may share structure, but never expand into more than this many visited nodes. */
const ALIAS_VISIT_LIMIT = 5_000;

export interface DecodeContext {
  doc: Document;
  lineCounter: LineCounter;
  source: string;
  sink: DiagnosticSink;
  /** Path -> position of the value (and of its key, where it has one). */
  positions: Map<string, Position>;
  keyPositions: Map<string, Position>;
  /** Template strings by path, for the template checks. */
  templates: Map<string, Scalar>;
  inAlias: number;
  aliasVisits: number;
  /** Built on the first alias met (see resolveAlias). */
  anchors?: Map<string, Array<{ offset: number; node: Node }>>;
}

/**
 * yaml's `Alias.resolve` searches the whole document on every call, which makes many aliases
 * quadratic; an index of anchors built once answers each in a few steps. An alias refers to the
 * closest anchor of that name before it.
 */
function resolveAlias(alias: Alias, ctx: DecodeContext): Node | undefined {
  if (!ctx.anchors) {
    const anchors = new Map<string, Array<{ offset: number; node: Node }>>();
    visit(ctx.doc, {
      Node(_key, node) {
        if (!isAlias(node) && node.anchor) {
          const list = anchors.get(node.anchor) ?? [];
          list.push({ offset: node.range?.[0] ?? 0, node: node as Node });
          anchors.set(node.anchor, list);
        }
      },
    });
    ctx.anchors = anchors;
  }
  const at = alias.range?.[0] ?? 0;
  let found: Node | undefined;
  for (const candidate of ctx.anchors.get(alias.source) ?? []) {
    if (candidate.offset < at) found = candidate.node;
  }
  return found;
}

export function posOf(node: Node | null | undefined, ctx: DecodeContext): Position {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = ctx.lineCounter.linePos(offset);
  return { line, column: col };
}

export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

function describeNode(node: Node): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'nothing';
    if (typeof v === 'number') return `the number ${v}`;
    if (typeof v === 'boolean') return `the boolean ${v}`;
    return `the text ${JSON.stringify(truncate(String(v)))}`;
  }
  return 'something else';
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty so a key such as `__proto__` is data, never a prototype change.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isNullScalar(node: unknown): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

/** Decodes `node` against `schema`; problems go to the sink, the result is `undefined` if invalid. */
export function decode(
  schema: Schema,
  node: Node,
  path: string,
  ctx: DecodeContext,
  ownerPos?: Position,
): unknown {
  if (isAlias(node)) {
    if (ctx.aliasVisits > ALIAS_VISIT_LIMIT) return undefined; // reported once, below
    const target = resolveAlias(node, ctx);
    if (!target) return undefined; // yaml already reported the unknown anchor
    ctx.inAlias++;
    try {
      return decode(schema, target, path, ctx, ownerPos);
    } finally {
      ctx.inAlias--;
    }
  }
  if (ctx.inAlias > 0 && ++ctx.aliasVisits > ALIAS_VISIT_LIMIT) {
    if (ctx.aliasVisits === ALIAS_VISIT_LIMIT + 1) {
      ctx.sink.add(
        'BRL_DF_ALIAS_LIMIT',
        posOf(node, ctx),
        path,
        `YAML aliases expand to more than ${ALIAS_VISIT_LIMIT} nodes`,
        'write the repeated parts out, or share less through anchors (&) and aliases (*)',
      );
    }
    return undefined;
  }
  const pos = posOf(node, ctx);
  ctx.positions.set(path, pos);
  const errorsBefore = ctx.sink.errorCount();
  let raw = decodeRaw(schema, node, path, ctx, pos, ownerPos);
  if (raw !== undefined && schema.normalize) raw = schema.normalize(raw as never);
  // A part with errors inside stays partial (so later checks still see the rest of the file),
  // but is not refined: refinements would only repeat the same problem in other words.
  if (raw === undefined || !schema.refine || ctx.sink.errorCount() > errorsBefore) return raw;
  return schema.refine(raw as never, {
    path,
    pos,
    node,
    ctx,
    report: (code, message, hint, at) => ctx.sink.add(code, at ?? pos, path, message, hint),
  });
}

function typeError(
  node: Node,
  path: string,
  ctx: DecodeContext,
  pos: Position,
  expected: string,
  hint?: string,
) {
  if (isUnquotedTemplate(node)) {
    if (ctx.sink.hasAt('BRL_DF_UNQUOTED_TEMPLATE', pos)) return; // the YAML reader said it already
    const text = ctx.source.slice(node.range?.[0] ?? 0, node.range?.[1] ?? 0).trim();
    const key = /([^.\][]+)$/.exec(path)?.[1] ?? 'value';
    ctx.sink.add(
      'BRL_DF_UNQUOTED_TEMPLATE',
      pos,
      path,
      `${text} is not quoted, so YAML reads it as a mapping instead of text`,
      `quote the value: ${/^\w+$/.test(key) ? `${key}: ` : ''}"${text.replace(/"/g, '\\"')}"`,
    );
    return;
  }
  const glued = missingSpaceAfterColon(node);
  if (glued) {
    ctx.sink.add(
      'BRL_DF_TYPE',
      pos,
      path,
      `${path || 'the file'} must be ${expected}, but YAML reads ${JSON.stringify(truncate(glued.text))} as one piece of text: there is no space after the colon`,
      `write a space after the colon: ${glued.key}: ${glued.value}`,
    );
    return;
  }
  ctx.sink.add(
    'BRL_DF_TYPE',
    pos,
    path,
    `${path || 'the file'} must be ${expected}, not ${describeNode(node)}`,
    hint,
  );
}

/** `dependsOn:["x"]`: YAML needs a space after the colon, so this is one plain scalar. */
function missingSpaceAfterColon(node: Node): { text: string; key: string; value: string } | undefined {
  if (!isScalar(node) || typeof node.value !== 'string' || node.type !== 'PLAIN') return undefined;
  const m = /^([A-Za-z_][\w-]*):(\S.*)$/s.exec(node.value);
  if (!m || /^\/\//.test(m[2] ?? '')) return undefined; // https://... is a URL, not a key
  return { text: node.value, key: m[1] ?? '', value: m[2] ?? '' };
}

/** `{{a.b}}` unquoted parses as a flow mapping whose only key is itself a flow mapping. */
export function isUnquotedTemplate(node: Node): boolean {
  if (!isMap(node) || !node.flow || node.items.length !== 1) return false;
  const key = node.items[0]?.key;
  return isMap(key) && key.flow === true;
}

function decodeRaw(
  schema: Schema,
  node: Node,
  path: string,
  ctx: DecodeContext,
  pos: Position,
  ownerPos: Position | undefined,
): unknown {
  switch (schema.kind) {
    case 'any':
      try {
        return node.toJS(ctx.doc, { maxAliasCount: 100 });
      } catch {
        ctx.sink.add('BRL_DF_ALIAS_LIMIT', pos, path, 'YAML aliases expand to too many nodes here');
        return undefined;
      }
    case 'string':
      return decodeString(schema, node, path, ctx, pos);
    case 'int':
    case 'number': {
      if (!isScalar(node) || typeof node.value !== 'number') {
        const quotedNumber =
          isScalar(node) && typeof node.value === 'string' && /^-?\d+(\.\d+)?$/.test(node.value);
        typeError(
          node,
          path,
          ctx,
          pos,
          schema.kind === 'int' ? 'a whole number' : 'a number',
          quotedNumber ? 'remove the quotes' : undefined,
        );
        return undefined;
      }
      const n = node.value;
      if (schema.kind === 'number') return n;
      if (!Number.isInteger(n)) {
        ctx.sink.add(
          'BRL_DF_TYPE',
          pos,
          path,
          `${path} must be a whole number, not ${n}`,
          `write a whole number such as ${Math.max(schema.min ?? 0, Math.round(n))}`,
        );
        return undefined;
      }
      if ((schema.min !== undefined && n < schema.min) || (schema.max !== undefined && n > schema.max)) {
        const range =
          schema.max === undefined
            ? `at least ${schema.min}`
            : schema.min === undefined
              ? `at most ${schema.max}`
              : `between ${schema.min} and ${schema.max}`;
        ctx.sink.add(
          schema.rangeCode ?? 'BRL_DF_OUT_OF_RANGE',
          pos,
          path,
          `${path} must be ${range}, not ${n}`,
          schema.rangeHint ?? `use a whole number ${range}`,
        );
        return undefined;
      }
      return n;
    }
    case 'bool':
      if (!isScalar(node) || typeof node.value !== 'boolean') {
        const quoted = isScalar(node) && typeof node.value === 'string' && /^(true|false)$/i.test(node.value);
        typeError(
          node,
          path,
          ctx,
          pos,
          'true or false',
          quoted ? 'write true or false without quotes' : undefined,
        );
        return undefined;
      }
      return node.value;
    case 'object':
      return decodeObject(schema, node, path, ctx, pos, ownerPos);
    case 'map':
      return decodeMap(schema, node, path, ctx, pos);
    case 'list':
      return decodeList(schema, node, path, ctx, pos, ownerPos);
    case 'oneKey':
      return decodeOneKey(schema, node, path, ctx, pos);
  }
}

function decodeString(schema: StringSchema, node: Node, path: string, ctx: DecodeContext, pos: Position) {
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
    typeError(node, path, ctx, pos, 'text');
    return undefined;
  }
  let value: string;
  if (typeof node.value === 'string') value = node.value;
  else if (schema.coerce) value = String(node.value);
  else {
    typeError(node, path, ctx, pos, 'text', `quote it: "${String(node.value)}"`);
    return undefined;
  }
  if (schema.template) ctx.templates.set(path, node);
  if (schema.nonEmpty && value.trim() === '') {
    ctx.sink.add('BRL_DF_REQUIRED', pos, path, `${path} must not be empty`);
    return undefined;
  }
  if (schema.enum) {
    const match = schema.enum.find((e) => e.toLowerCase() === value.toLowerCase());
    if (match === undefined) {
      const suggestion = didYouMean(value, schema.enum);
      ctx.sink.add(
        schema.enumCode ?? 'BRL_DF_INVALID_VALUE',
        pos,
        path,
        `${path} must be one of ${schema.enum.join(', ')}, not ${JSON.stringify(truncate(value))}`,
        suggestion ? `did you mean "${suggestion}"?` : `write one of: ${schema.enum.join(', ')} (any case)`,
      );
      return undefined;
    }
    return match;
  }
  if (schema.pattern && !schema.pattern.test(value)) {
    ctx.sink.add(
      'BRL_DF_INVALID_VALUE',
      pos,
      path,
      `${path}: ${JSON.stringify(truncate(value))} is not valid here`,
      schema.patternHint,
    );
    return undefined;
  }
  return value;
}

function decodeObject(
  schema: ObjectSchema,
  node: Node,
  path: string,
  ctx: DecodeContext,
  pos: Position,
  ownerPos: Position | undefined,
) {
  if (!isMap(node)) {
    typeError(node, path, ctx, pos, schema.what, schema.typeHint);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const written = new Map<string, string>();
  const nullKeys = new Set<string>();
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
      typeError(keyNode ?? node, path, ctx, keyNode ? posOf(keyNode, ctx) : pos, 'a mapping with text keys');
      continue;
    }
    const key = String(keyNode.value);
    const keyPos = posOf(keyNode, ctx);
    const canonical = schema.aliases?.[key] ?? key;
    const field = Object.hasOwn(schema.fields, canonical) ? schema.fields[canonical] : undefined;
    const childPath = joinPath(path, canonical);
    if (!field) {
      const suggestion = didYouMean(key, [
        ...Object.keys(schema.fields),
        ...Object.keys(schema.aliases ?? {}),
      ]);
      ctx.sink.add(
        'BRL_DF_UNKNOWN_KEY',
        keyPos,
        joinPath(path, key),
        `unknown key "${truncate(key)}" in ${path || 'the top level'}`,
        suggestion ? `did you mean "${suggestion}"?` : `known keys: ${Object.keys(schema.fields).join(', ')}`,
      );
      continue;
    }
    const previous = written.get(canonical);
    if (previous !== undefined) {
      ctx.sink.add(
        'BRL_DF_DUPLICATE_KEY',
        keyPos,
        childPath,
        previous === key
          ? `"${key}" appears twice in ${path || 'the top level'}`
          : `"${previous}" and "${key}" are the same key`,
        previous === key
          ? 'remove one of them'
          : `keep one of them ("${canonical}" is the canonical spelling)`,
      );
      continue;
    }
    written.set(canonical, key);
    ctx.keyPositions.set(childPath, keyPos);
    if (field.ignored !== undefined) {
      ctx.sink.add(
        'BRL_DF_IGNORED_KEY',
        keyPos,
        childPath,
        `${childPath} is ignored: ${field.ignored}`,
        `remove ${key}:`,
      );
      continue;
    }
    if (isNullScalar(pair.value)) {
      nullKeys.add(canonical);
      if (field.required || field.valueRequired)
        ctx.sink.add(
          'BRL_DF_REQUIRED',
          keyPos,
          childPath,
          `${childPath} has no value`,
          `write the value after "${key}:" on the same line, or indent it under the key`,
        );
      continue;
    }
    const value = decode(field.schema, pair.value as Node, childPath, ctx, keyPos);
    if (value !== undefined) setOwn(out, canonical, value);
  }
  for (const [name, field] of Object.entries(schema.fields)) {
    if (Object.hasOwn(out, name)) continue;
    const wasWritten = written.has(name);
    // Written with a value that failed to decode: already reported, no default papers over it.
    if (wasWritten && !nullKeys.has(name)) continue;
    if (field.required) {
      if (!wasWritten) {
        ctx.sink.add(
          'BRL_DF_REQUIRED',
          ownerPos ?? pos,
          joinPath(path, name),
          `${path || 'the file'} is missing the required key "${name}"`,
          `add ${name}: ...`,
        );
      }
    } else if (field.default) {
      setOwn(out, name, field.default());
    }
  }
  return out;
}

function decodeMap(schema: MapSchema, node: Node, path: string, ctx: DecodeContext, pos: Position) {
  if (schema.emptyListIsEmpty && isSeq(node) && node.items.length === 0) return {};
  if (!isMap(node)) {
    typeError(node, path, ctx, pos, schema.what);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
      typeError(keyNode ?? node, path, ctx, keyNode ? posOf(keyNode, ctx) : pos, 'a mapping with text keys');
      continue;
    }
    const key = String(keyNode.value);
    const keyPos = posOf(keyNode, ctx);
    const childPath = joinPath(path, key);
    if (seen.has(key)) {
      ctx.sink.add(
        'BRL_DF_DUPLICATE_KEY',
        keyPos,
        childPath,
        `"${truncate(key)}" appears twice in ${path}`,
        'remove one of them',
      );
      continue;
    }
    seen.add(key);
    ctx.keyPositions.set(childPath, keyPos);
    // A bad name is reported, but the entry is still checked and kept: its contents may have
    // problems of their own, and references to it must not turn into "unknown name" cascades.
    if (schema.keyPattern && !schema.keyPattern.test(key)) {
      ctx.sink.add(
        'BRL_DF_INVALID_VALUE',
        keyPos,
        childPath,
        `"${truncate(key)}" is not a valid ${schema.entry ?? 'name'} in ${path}`,
        schema.keyHint,
      );
    }
    if (isNullScalar(pair.value)) {
      typeError(
        (pair.value as Node | null) ?? keyNode,
        childPath,
        ctx,
        keyPos,
        describeSchema(schema.values),
      );
      setOwn(out, key, null);
      continue;
    }
    const value = decode(schema.values, pair.value as Node, childPath, ctx, keyPos);
    // null, not absent: the name exists (references to it are fine), its definition is broken.
    setOwn(out, key, value ?? null);
  }
  if (schema.minEntries && seen.size < schema.minEntries) {
    ctx.sink.add(
      'BRL_DF_EMPTY_COLLECTION',
      pos,
      path,
      `${path} needs at least ${schema.minEntries} entry`,
      `add an entry under ${path}: (name: followed by its fields, indented)`,
    );
  }
  return out;
}

function describeSchema(schema: Schema): string {
  switch (schema.kind) {
    case 'string':
      return 'text';
    case 'int':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'bool':
      return 'true or false';
    case 'any':
      return 'a value';
    default:
      return schema.what;
  }
}

function decodeList(
  schema: ListSchema,
  node: Node,
  path: string,
  ctx: DecodeContext,
  pos: Position,
  ownerPos: Position | undefined,
) {
  if (!isSeq(node)) {
    typeError(
      node,
      path,
      ctx,
      pos,
      schema.what,
      isMap(node)
        ? 'write it as a list: start each entry with "- " (one more level of indentation)'
        : undefined,
    );
    return undefined;
  }
  const out: unknown[] = [];
  node.items.forEach((item, i) => {
    const itemPath = joinPath(path, i);
    if (isNullScalar(item)) {
      ctx.sink.add(
        'BRL_DF_TYPE',
        item ? posOf(item as Node, ctx) : pos,
        itemPath,
        `${itemPath} is empty`,
        'remove the empty "-" line or fill it in',
      );
      out.push(undefined);
      return;
    }
    const value = decode(schema.items, item as Node, itemPath, ctx);
    out.push(value); // undefined keeps the indexes of the items after a failed one
  });
  if (schema.minItems && node.items.length < schema.minItems) {
    ctx.sink.add(
      'BRL_DF_EMPTY_COLLECTION',
      ownerPos ?? pos,
      path,
      `${path} needs at least ${schema.minItems} item`,
      `add an item: - <value> on its own line under ${path.replace(/^.*\./, '')}:`,
    );
  }
  return out;
}

function decodeOneKey(schema: OneKeySchema, node: Node, path: string, ctx: DecodeContext, pos: Position) {
  const names = Object.keys(schema.variants);
  if (!isMap(node)) {
    typeError(node, path, ctx, pos, `${schema.what} (one of ${names.join(', ')})`);
    return undefined;
  }
  if (node.items.length !== 1) {
    const keys = node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '?'));
    const nested = keys.length > 1 && keys.some((k) => names.includes(k));
    ctx.sink.add(
      'BRL_DF_ONE_OF',
      pos,
      path,
      `${path} must have exactly one key (one of ${names.join(', ')}); found ${keys.length === 0 ? 'none' : keys.join(', ')}`,
      nested
        ? `indent the fields under "${keys.find((k) => names.includes(k))}:" by two more spaces`
        : undefined,
    );
    return undefined;
  }
  const pair = node.items[0]!;
  const keyNode = pair.key as Node;
  const key = isScalar(keyNode) ? String(keyNode.value) : '';
  const keyPos = posOf(keyNode, ctx);
  const variant = Object.hasOwn(schema.variants, key) ? schema.variants[key] : undefined;
  if (!variant) {
    const reason = schema.notHere?.[key];
    if (reason) {
      ctx.sink.add(
        'BRL_DF_STEP_NOT_ALLOWED',
        keyPos,
        joinPath(path, key),
        `${key} is not allowed in ${path.replace(/\[\d+\]$/, '')}`,
        reason,
      );
    } else {
      const suggestion = didYouMean(key, names);
      ctx.sink.add(
        'BRL_DF_UNKNOWN_KEY',
        keyPos,
        joinPath(path, key),
        `unknown ${schema.what} "${truncate(key)}" in ${path}`,
        suggestion ? `did you mean "${suggestion}"?` : `allowed here: ${names.join(', ')}`,
      );
    }
    return undefined;
  }
  const childPath = joinPath(path, key);
  ctx.keyPositions.set(childPath, keyPos);
  if (isNullScalar(pair.value)) {
    ctx.sink.add(
      'BRL_DF_REQUIRED',
      keyPos,
      childPath,
      `${childPath} has no value`,
      `indent its fields under "${key}:"`,
    );
    return undefined;
  }
  const value = decode(variant, pair.value as Node, childPath, ctx, keyPos);
  if (value === undefined) return undefined;
  return { type: key, ...(value as object) };
}
