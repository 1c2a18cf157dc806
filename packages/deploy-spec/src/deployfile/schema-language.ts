/**
 * A small declarative schema language and the one walker that applies it to the YAML tree.
 * The walker works on yaml's nodes (not on `toJS()` output) so that every value keeps its line
 * and column, every problem is reported (the walk never stops at the first), defaults are applied
 * here and nowhere else, and alternative spellings are folded into the canonical one.
 *
 * This file is the language: the schema kinds, fields, and what a refinement and the walk see.
 * The walker is decode.ts (scalars) and decode-collections.ts (objects, maps, lists, one-key
 * mappings); yaml-nodes.ts reads positions, paths and descriptions off yaml's nodes.
 */
import type { Document, LineCounter, Node, Scalar } from 'yaml';
import type { DiagnosticCode } from './codes.js';
import type { DiagnosticSink, Position } from './diagnostic.js';

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

/** The walker's entry, handed to the collection decoders so that they can decode their children. */
export type Decode = (
  schema: Schema,
  node: Node,
  path: string,
  ctx: DecodeContext,
  ownerPos?: Position,
) => unknown;
