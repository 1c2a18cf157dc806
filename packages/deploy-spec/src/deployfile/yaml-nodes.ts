/**
 * Reading yaml's nodes for the walker: aliases through an anchor index, positions, paths, what a
 * node is in words, and the type-error diagnostic built from them (with the two classic YAML
 * slips: an unquoted template and a missing space after a colon).
 */
import { type Alias, isAlias, isMap, isScalar, isSeq, type Node, visit } from 'yaml';
import type { Position } from './diagnostic.js';
import type { DecodeContext } from './schema-language.js';

/**
 * yaml's `Alias.resolve` searches the whole document on every call, which makes many aliases
 * quadratic; an index of anchors built once answers each in a few steps. An alias refers to the
 * closest anchor of that name before it.
 */
export function resolveAlias(alias: Alias, ctx: DecodeContext): Node | undefined {
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

export function describeNode(node: Node): string {
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

export function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty so a key such as `__proto__` is data, never a prototype change.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isNullScalar(node: unknown): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

export function typeError(
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
export function missingSpaceAfterColon(node: Node): { text: string; key: string; value: string } | undefined {
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
