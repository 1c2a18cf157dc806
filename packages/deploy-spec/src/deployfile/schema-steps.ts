/**
 * The deploy file's steps (runWebhook, pause, analysis, setWeight, exposeServices), where each
 * may stand, and a target's constraints (dependsOn, beforeDeployment, afterDeployment).
 */
import { isRoleName } from '../roles.js';
import type { ObjectSchema, OneKeySchema, RefineAt, Schema } from './schema-language.js';
import {
  bool,
  contextMap,
  duration,
  name,
  names,
  positiveInt,
  targetNames,
  text,
  timeUnit,
  toDuration,
} from './schema-primitives.js';
import type { Duration, TimeUnit } from './spec-types.js';

export const runWebhook: ObjectSchema = {
  kind: 'object',
  what: 'a runWebhook {name, context}',
  fields: {
    name: { schema: name(), required: true },
    context: { schema: contextMap, default: () => ({}) },
    // Armory's own `template` command writes `unit: SECONDS` into runWebhook steps.
    unit: { schema: { kind: 'any' }, ignored: "a runWebhook has no unit (Armory's template writes one)" },
  },
};

export const pause: ObjectSchema = {
  kind: 'object',
  what: 'a pause {duration, unit} or {untilApproved: true}',
  fields: {
    duration: { schema: positiveInt },
    unit: { schema: timeUnit },
    untilApproved: { schema: bool },
    requiresRoles: { schema: names('a list of role names') },
    approvalExpiration: { schema: duration },
  },
  aliases: { requiresRole: 'requiresRoles', units: 'unit' },
  refine: (
    v: {
      duration?: number;
      unit?: TimeUnit;
      untilApproved?: boolean;
      requiresRoles?: string[];
      approvalExpiration?: Duration;
    },
    at: RefineAt,
  ) => {
    const timed = v.duration !== undefined || v.unit !== undefined;
    if (v.untilApproved === true) {
      if (timed) {
        at.report(
          'BRL_DF_PAUSE',
          'a pause is either timed or waits for approval, not both',
          'remove duration/unit, or untilApproved',
        );
        return undefined;
      }
      const unholdable = (v.requiresRoles ?? []).filter((r) => !isRoleName(r));
      if (unholdable.length) {
        at.report(
          'BRL_DF_ROLE_NAME',
          `requiresRoles names ${unholdable.map((r) => JSON.stringify(r)).join(', ')}, which no API token can hold: only an admin could approve this pause`,
          'use role names of ASCII letters, digits, spaces, . _ : @ + / - (e.g. prod-approvers), and give people tokens with them: borealis tokens create NAME --role prod-approvers',
        );
      }
      const out: Record<string, unknown> = { untilApproved: true, requiresRoles: v.requiresRoles ?? [] };
      if (v.approvalExpiration) out.approvalExpiration = v.approvalExpiration;
      return out;
    }
    if (v.requiresRoles !== undefined || v.approvalExpiration !== undefined) {
      at.report(
        'BRL_DF_PAUSE',
        'requiresRoles and approvalExpiration only apply to untilApproved: true',
        'add untilApproved: true',
      );
      return undefined;
    }
    if (v.duration === undefined || v.unit === undefined) {
      at.report(
        'BRL_DF_PAUSE',
        `a timed pause needs both duration and unit${v.untilApproved === false ? ' (untilApproved is false)' : ''}`,
        'write pause: {duration: 10, unit: minutes} or pause: {untilApproved: true}',
      );
      return undefined;
    }
    return { untilApproved: false, duration: toDuration({ duration: v.duration, unit: v.unit }) };
  },
};

export const mode = text({ enum: ['manual', 'automatic'] });
export const analysisStep: ObjectSchema = {
  kind: 'object',
  what: 'an analysis step',
  fields: {
    metricProviderName: { schema: name() },
    context: { schema: contextMap, default: () => ({}) },
    interval: { schema: positiveInt, required: true },
    units: { schema: timeUnit, required: true },
    numberOfJudgmentRuns: {
      schema: {
        kind: 'int',
        min: 1,
        rangeHint: 'numberOfJudgmentRuns counts judgments: 1 or more (the analysis judges every interval)',
      },
      required: true,
    },
    rollBackMode: { schema: mode, default: () => 'automatic' },
    rollForwardMode: { schema: mode, default: () => 'automatic' },
    queries: {
      schema: names('a list of query names', 1),
      required: true,
    },
    lookbackMethod: { schema: text({ enum: ['growing', 'sliding'] }) },
    abortOnFailedJudgment: { schema: bool },
  },
  aliases: { unit: 'units' },
};

export const setWeight: ObjectSchema = {
  kind: 'object',
  what: 'a setWeight {weight}',
  typeHint: 'write setWeight: {weight: 25} (the weight goes under weight:)',
  fields: {
    weight: {
      schema: {
        kind: 'int',
        min: 0,
        max: 100,
        rangeHint: 'weight is the percentage of traffic the new version gets: 0 to 100',
      },
      required: true,
    },
  },
};

export const exposeServices: ObjectSchema = {
  kind: 'object',
  what: 'an exposeServices {services, ttl}',
  fields: {
    services: {
      schema: names('a list of service names', 1),
      required: true,
    },
    ttl: { schema: duration },
  },
};

export const STEP_KINDS = { setWeight, pause, runWebhook, analysis: analysisStep, exposeServices } as const;

export function steps(what: string, allowed: ReadonlyArray<keyof typeof STEP_KINDS>, where: string): Schema {
  const variants: Record<string, Schema> = {};
  const notHere: Record<string, string> = {};
  for (const [kind, schema] of Object.entries(STEP_KINDS)) {
    if ((allowed as readonly string[]).includes(kind)) variants[kind] = schema;
    else notHere[kind] = `${where} accepts ${allowed.join(', ')}`;
  }
  const item: OneKeySchema = { kind: 'oneKey', what: 'step', variants, notHere };
  return { kind: 'list', what, items: item };
}

export const constraints: ObjectSchema = {
  kind: 'object',
  what: 'constraints {dependsOn, beforeDeployment, afterDeployment}',
  fields: {
    dependsOn: { schema: targetNames(), default: () => [] },
    beforeDeployment: {
      schema: steps('a list of steps', ['pause', 'runWebhook'], 'beforeDeployment'),
      default: () => [],
    },
    afterDeployment: {
      schema: steps('a list of steps', ['pause', 'runWebhook', 'analysis'], 'afterDeployment'),
      default: () => [],
    },
  },
};
