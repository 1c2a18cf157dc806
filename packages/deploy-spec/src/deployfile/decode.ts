/**
 * The walker's entry: `decode` applies a schema to a node (aliases, positions, normalise and
 * refine), scalars are decoded here, collections in decode-collections.ts.
 */
import { isAlias, isScalar, type Node } from 'yaml';
import { decodeList, decodeMap, decodeObject, decodeOneKey } from './decode-collections.js';
import type { Position } from './diagnostic.js';
import { didYouMean } from './did-you-mean.js';
import type { DecodeContext, Schema, StringSchema } from './schema-language.js';
import { posOf, resolveAlias, truncate, typeError } from './yaml-nodes.js';

/** Aliases may share structure, but never expand into more than this many visited nodes. */
const ALIAS_VISIT_LIMIT = 5_000;

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
      return decodeObject(decode, schema, node, path, ctx, pos, ownerPos);
    case 'map':
      return decodeMap(decode, schema, node, path, ctx, pos);
    case 'list':
      return decodeList(decode, schema, node, path, ctx, pos, ownerPos);
    case 'oneKey':
      return decodeOneKey(decode, schema, node, path, ctx, pos);
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
