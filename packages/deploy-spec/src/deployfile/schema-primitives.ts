/**
 * The deploy-file schema's building blocks: names, numbers, durations, context maps and lists,
 * with the limits they carry. schema.ts, schema-steps.ts and schema-webhook.ts compose them.
 */
import { HTTP_TOKEN_PATTERN } from '@borealis/protocol';
import type { ObjectSchema, Schema, StringSchema } from './schema-language.js';
import { type Duration, TIME_UNITS, type TimeUnit } from './spec-types.js';

export const MS: Record<TimeUnit, number> = { seconds: 1_000, minutes: 60_000, hours: 3_600_000 };

/** Webhook calls may be retried, but a deploy file cannot turn one call into a flood. */
export const MAX_RETRY_COUNT = 10;
export const MIN_DEPLOYMENT_TIMEOUT_MS = 60_000;

/**
 * Target, strategy and application names are any non-empty text (`prod-apac (canary-istio)`,
 * `Potato Facts` are in Armory's own demos); where a name must become a Kubernetes label or a URL
 * part, `slugOf` derives one and the original stays for display.
 */
export const ANY_NAME = /\S/;
export const ANY_NAME_HINT = 'a name needs at least one character that is not a space';
// RFC 9110 token characters.
export const HEADER_NAME = HTTP_TOKEN_PATTERN;

export const text = (extra: Partial<StringSchema> = {}): Schema => ({
  kind: 'string',
  ...extra,
});
export const name = (): Schema => text({ nonEmpty: true });
export const names = (what: string, minItems?: number): Schema => ({
  kind: 'list',
  what,
  items: name(),
  minItems,
});
/** References to targets: checked against the names the file defines, whatever their text. */
export const targetNames = (): Schema => ({ kind: 'list', what: 'a list of target names', items: text() });
export const bool: Schema = { kind: 'bool' };
export const num: Schema = { kind: 'number' };
export const positiveInt: Schema = {
  kind: 'int',
  min: 1,
  rangeCode: 'BRL_DF_DURATION',
  rangeHint: 'durations are positive whole numbers; pick a smaller unit for shorter spans',
};
export const timeUnit = text({ enum: TIME_UNITS });
export const kubernetesName = text({ nonEmpty: true });
export const contextMap: Schema = {
  kind: 'map',
  what: 'a mapping of names to values',
  values: text({ coerce: true }),
  emptyListIsEmpty: true,
};

export function toDuration(value: { duration: number; unit: TimeUnit }): Duration {
  return { duration: value.duration, unit: value.unit, ms: value.duration * MS[value.unit] };
}

export const duration: ObjectSchema = {
  kind: 'object',
  what: 'a duration {duration, unit}',
  fields: {
    duration: { schema: positiveInt, required: true },
    unit: { schema: timeUnit, required: true },
  },
  aliases: { units: 'unit' },
  refine: toDuration,
};

export const list = (what: string, items: Schema): Schema => ({ kind: 'list', what, items });
