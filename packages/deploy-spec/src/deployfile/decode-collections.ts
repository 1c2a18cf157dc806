/**
 * Decoding mappings and lists: objects with known fields (both spellings, defaults, unknown keys
 * with a did-you-mean), maps of names, lists, and one-key mappings such as steps. Children are
 * decoded with the walker's `decode`, handed in by decode.ts.
 */
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { Position } from './diagnostic.js';
import { didYouMean } from './did-you-mean.js';
import type {
  Decode,
  DecodeContext,
  ListSchema,
  MapSchema,
  ObjectSchema,
  OneKeySchema,
  Schema,
} from './schema-language.js';
import { isNullScalar, joinPath, posOf, setOwn, truncate, typeError } from './yaml-nodes.js';

/** A mapping key as text and where it is; a key that is not text is reported (undefined). */
function textKey(
  keyNode: Node | null,
  node: Node,
  path: string,
  ctx: DecodeContext,
  pos: Position,
): { key: string; keyPos: Position; keyNode: Node } | undefined {
  if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
    typeError(keyNode ?? node, path, ctx, keyNode ? posOf(keyNode, ctx) : pos, 'a mapping with text keys');
    return undefined;
  }
  return { key: String(keyNode.value), keyPos: posOf(keyNode, ctx), keyNode };
}

export function decodeObject(
  decode: Decode,
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
    const keyed = textKey(pair.key as Node | null, node, path, ctx, pos);
    if (!keyed) continue;
    const { key, keyPos } = keyed;
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

export function decodeMap(
  decode: Decode,
  schema: MapSchema,
  node: Node,
  path: string,
  ctx: DecodeContext,
  pos: Position,
) {
  if (schema.emptyListIsEmpty && isSeq(node) && node.items.length === 0) return {};
  if (!isMap(node)) {
    typeError(node, path, ctx, pos, schema.what);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const pair of node.items) {
    const keyed = textKey(pair.key as Node | null, node, path, ctx, pos);
    if (!keyed) continue;
    const { key, keyPos, keyNode } = keyed;
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

export function decodeList(
  decode: Decode,
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

export function decodeOneKey(
  decode: Decode,
  schema: OneKeySchema,
  node: Node,
  path: string,
  ctx: DecodeContext,
  pos: Position,
) {
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
