/**
 * THE schema of the deploy file (spec/deploy-file-reference.md and the webhook product page).
 * Every key, both spellings where two are in use, and every default live here and only here.
 */

import { AGENT_IDENTIFIER_RULE, HTTP_TOKEN_PATTERN, isAgentIdentifier } from '@borealis/protocol';
import { isRoleName } from '../roles.js';
import { suggestIdentifier } from './routing.js';
import type { ObjectSchema, OneKeySchema, RefineAt, Schema, StringSchema } from './schema-kit.js';
import { type Duration, HTTP_METHODS, NETWORK_MODES, TIME_UNITS, type TimeUnit } from './spec-types.js';

const MS: Record<TimeUnit, number> = { seconds: 1_000, minutes: 60_000, hours: 3_600_000 };

/** Webhook calls may be retried, but a deploy file cannot turn one call into a flood. */
export const MAX_RETRY_COUNT = 10;
export const MIN_DEPLOYMENT_TIMEOUT_MS = 60_000;

/**
 * Target, strategy and application names are any non-empty text (`prod-apac (canary-istio)`,
 * `Potato Facts` are in Armory's own demos); where a name must become a Kubernetes label or a URL
 * part, `slugOf` derives one and the original stays for display.
 */
const ANY_NAME = /\S/;
const ANY_NAME_HINT = 'a name needs at least one character that is not a space';
// RFC 9110 token characters.
const HEADER_NAME = HTTP_TOKEN_PATTERN;

const text = (extra: Partial<StringSchema> = {}): Schema => ({
  kind: 'string',
  ...extra,
});
const name = (): Schema => text({ nonEmpty: true });
const names = (what: string, minItems?: number): Schema => ({ kind: 'list', what, items: name(), minItems });
/** References to targets: checked against the names the file defines, whatever their text. */
const targetNames = (): Schema => ({ kind: 'list', what: 'a list of target names', items: text() });
const bool: Schema = { kind: 'bool' };
const num: Schema = { kind: 'number' };
const positiveInt: Schema = {
  kind: 'int',
  min: 1,
  rangeCode: 'BRL_DF_DURATION',
  rangeHint: 'durations are positive whole numbers; pick a smaller unit for shorter spans',
};
const timeUnit = text({ enum: TIME_UNITS });
const kubernetesName = text({ nonEmpty: true });
const contextMap: Schema = {
  kind: 'map',
  what: 'a mapping of names to values',
  values: text({ coerce: true }),
  emptyListIsEmpty: true,
};

function toDuration(value: { duration: number; unit: TimeUnit }): Duration {
  return { duration: value.duration, unit: value.unit, ms: value.duration * MS[value.unit] };
}

const duration: ObjectSchema = {
  kind: 'object',
  what: 'a duration {duration, unit}',
  fields: {
    duration: { schema: positiveInt, required: true },
    unit: { schema: timeUnit, required: true },
  },
  aliases: { units: 'unit' },
  refine: toDuration,
};

const runWebhook: ObjectSchema = {
  kind: 'object',
  what: 'a runWebhook {name, context}',
  fields: {
    name: { schema: name(), required: true },
    context: { schema: contextMap, default: () => ({}) },
    // Armory's own `template` command writes `unit: SECONDS` into runWebhook steps.
    unit: { schema: { kind: 'any' }, ignored: "a runWebhook has no unit (Armory's template writes one)" },
  },
};

const pause: ObjectSchema = {
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

const mode = text({ enum: ['manual', 'automatic'] });
const analysisStep: ObjectSchema = {
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

const setWeight: ObjectSchema = {
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

const exposeServices: ObjectSchema = {
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

const STEP_KINDS = { setWeight, pause, runWebhook, analysis: analysisStep, exposeServices } as const;

function steps(what: string, allowed: ReadonlyArray<keyof typeof STEP_KINDS>, where: string): Schema {
  const variants: Record<string, Schema> = {};
  const notHere: Record<string, string> = {};
  for (const [kind, schema] of Object.entries(STEP_KINDS)) {
    if ((allowed as readonly string[]).includes(kind)) variants[kind] = schema;
    else notHere[kind] = `${where} accepts ${allowed.join(', ')}`;
  }
  const item: OneKeySchema = { kind: 'oneKey', what: 'step', variants, notHere };
  return { kind: 'list', what, items: item };
}

const constraints: ObjectSchema = {
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

const target: ObjectSchema = {
  kind: 'object',
  what: 'a target {account, namespace, strategy, constraints}',
  fields: {
    account: { schema: name(), valueRequired: true },
    namespace: { schema: kubernetesName },
    strategy: { schema: name() },
    // kind: lambda (cross-checks refuse them in a kubernetes file and require them in a lambda one)
    deployAsIamRole: { schema: name() },
    region: { schema: name() },
    constraints: {
      schema: constraints,
      default: () => ({ dependsOn: [], beforeDeployment: [], afterDeployment: [] }),
    },
  },
};

const blueGreenSteps = (where: string) =>
  steps('a list of steps', ['pause', 'runWebhook', 'analysis', 'exposeServices'], where);

const serviceName = text({ nonEmpty: true });

const strategy: ObjectSchema = {
  kind: 'object',
  what: 'a strategy {canary: ...} or {blueGreen: ...}',
  fields: {
    canary: {
      schema: {
        kind: 'object',
        what: 'a canary strategy {steps}',
        fields: {
          steps: {
            schema: steps(
              'a list of steps',
              ['setWeight', 'pause', 'runWebhook', 'analysis', 'exposeServices'],
              'canary steps',
            ),
            required: true,
          },
        },
      },
    },
    blueGreen: {
      schema: {
        kind: 'object',
        what: 'a blueGreen strategy',
        fields: {
          // Optional here: Armory's current guide names it in trafficManagement[].kubernetes[]
          // instead; cross-checks refuse a blueGreen that neither names.
          activeService: { schema: serviceName },
          previewService: { schema: serviceName },
          activeRootUrl: {
            schema: { kind: 'any' },
            ignored: 'Armory dropped activeRootUrl; preview links come from exposeServices steps',
          },
          previewRootUrl: {
            schema: { kind: 'any' },
            ignored: 'Armory dropped previewRootUrl; preview links come from exposeServices steps',
          },
          redirectTrafficAfter: { schema: blueGreenSteps('redirectTrafficAfter'), default: () => [] },
          shutDownOldVersionAfter: { schema: blueGreenSteps('shutDownOldVersionAfter'), default: () => [] },
        },
        aliases: { shutdownOldVersionAfter: 'shutDownOldVersionAfter' },
      },
    },
  },
  // Tagged even when something inside is wrong, so that the steps are still checked.
  normalize: (v: { canary?: object; blueGreen?: object }) => {
    if ((v.canary === undefined) === (v.blueGreen === undefined)) return v;
    return v.canary ? { type: 'canary', ...v.canary } : { type: 'blueGreen', ...v.blueGreen };
  },
  refine: (v: { type?: string }, at: RefineAt) => {
    if (v.type === undefined) {
      at.report(
        'BRL_DF_ONE_OF',
        `${at.path} must have exactly one of canary or blueGreen`,
        'a strategy is either canary: {steps: [...]} or blueGreen: {...}; split it into two strategies',
      );
      return undefined;
    }
    return v;
  },
};

const manifest: ObjectSchema = {
  kind: 'object',
  what: 'a manifest {path} or {inline}',
  fields: {
    path: { schema: name() },
    inline: { schema: text() },
    targets: { schema: targetNames() },
  },
  refine: (v: { path?: string; inline?: string }, at: RefineAt) => {
    if ((v.path === undefined) === (v.inline === undefined)) {
      at.report(
        'BRL_DF_ONE_OF',
        `${at.path} must have exactly one of path or inline`,
        'write - path: manifests/app.yaml (a file or directory next to the deploy file) or - inline: | followed by the manifest',
      );
      return undefined;
    }
    return v;
  },
};

const artifact: ObjectSchema = {
  kind: 'object',
  what: 'a Lambda artifact {functionName, path, type}',
  fields: {
    functionName: { schema: name(), required: true },
    path: { schema: name(), required: true },
    type: { schema: text({ enum: ['zipFile'] }), default: () => 'zipFile' },
  },
};

const lambdaProviderOptions: ObjectSchema = {
  kind: 'object',
  what: 'Lambda provider options {name, target, runAsIamRole, handler, runtime}',
  fields: {
    name: { schema: name(), required: true },
    target: { schema: name(), required: true },
    runAsIamRole: { schema: name(), required: true },
    handler: { schema: name(), required: true },
    runtime: { schema: name(), required: true },
  },
};

const list = (what: string, items: Schema): Schema => ({ kind: 'list', what, items });

const trafficManagementEntry: ObjectSchema = {
  kind: 'object',
  what: 'a traffic management entry {targets, kubernetes|smi|istio}',
  fields: {
    targets: { schema: targetNames() },
    kubernetes: {
      schema: list('a list of {activeService, previewService}', {
        kind: 'object',
        what: 'a kubernetes traffic entry {activeService, previewService}',
        fields: {
          activeService: { schema: serviceName, required: true },
          previewService: { schema: serviceName },
        },
      }),
    },
    smi: {
      schema: list('a list of SMI entries', {
        kind: 'object',
        what: 'an SMI entry {rootServiceName, canaryServiceName, trafficSplitName}',
        fields: {
          rootServiceName: { schema: serviceName, required: true },
          canaryServiceName: { schema: serviceName },
          trafficSplitName: { schema: serviceName },
        },
      }),
    },
    istio: {
      schema: list('a list of Istio entries', {
        kind: 'object',
        what: 'an Istio entry {virtualService, destinationRule}',
        fields: {
          virtualService: {
            schema: {
              kind: 'object',
              what: 'virtualService {name, httpRouteName}',
              fields: { name: { schema: name(), required: true }, httpRouteName: { schema: name() } },
            },
            required: true,
          },
          destinationRule: {
            schema: {
              kind: 'object',
              what: 'destinationRule {name, activeSubsetName, canarySubsetName}',
              fields: {
                name: { schema: name(), required: true },
                activeSubsetName: { schema: name() },
                canarySubsetName: { schema: name() },
              },
            },
          },
        },
      }),
    },
    // kind: lambda: aliases that shift traffic between function versions.
    alias: { schema: { kind: 'any' } },
  },
};

const webhook: ObjectSchema = {
  kind: 'object',
  what: 'a webhook definition',
  fields: {
    name: { schema: name(), required: true },
    method: {
      schema: text({ enum: HTTP_METHODS, enumCode: 'BRL_DF_HTTP_METHOD' }),
      required: true,
    },
    uriTemplate: { schema: text({ template: true, nonEmpty: true }), required: true },
    networkMode: { schema: text({ enum: NETWORK_MODES }), default: () => 'direct' },
    agentIdentifier: {
      schema: text({
        nonEmpty: true,
        // An agent can only be called what the protocol allows: `prod eu` would validate and then
        // fail at dispatch as "no agent connected".
        refine: (id: string, at: RefineAt) => {
          if (!isAgentIdentifier(id))
            at.report(
              'BRL_DF_AGENT_IDENTIFIER',
              `agentIdentifier ${JSON.stringify(id)} is not a name an agent can have: ${AGENT_IDENTIFIER_RULE}`,
              `write the identifier the agent was started with (its BOREALIS_AGENT_IDENTIFIER; borealis agents list shows them), e.g. ${suggestIdentifier(id)}`,
            );
          return id;
        },
      }),
    },
    headers: {
      schema: {
        kind: 'list',
        what: 'a list of {key, value}',
        items: {
          kind: 'object',
          what: 'a header {key, value}',
          fields: {
            key: { schema: text({ nonEmpty: true }), required: true },
            value: { schema: text({ coerce: true, template: true }), required: true },
          },
        },
      },
      default: () => [],
    },
    bodyTemplate: {
      schema: {
        kind: 'object',
        what: 'a bodyTemplate {inline}',
        fields: { inline: { schema: text({ template: true }), required: true } },
      },
    },
    retryCount: {
      schema: {
        kind: 'int',
        min: 0,
        max: MAX_RETRY_COUNT,
        rangeHint: `retryCount is capped at ${MAX_RETRY_COUNT}`,
      },
      default: () => 0,
    },
    disableCallback: { schema: bool, default: () => false },
    signingSecret: {
      schema: text({
        pattern: /^[A-Za-z0-9_.-]+$/,
        patternHint: 'signingSecret is the NAME of a Borealis secret, not its value',
      }),
    },
  },
};

export const HEADER_NAME_PATTERN = HEADER_NAME;

export const KINDS = ['kubernetes', 'lambda'] as const;

/**
 * A name as a Kubernetes label value / URL part: lower case, runs of other characters as one
 * "-", at most 63 characters, never empty. `prod-apac (canary-istio)` -> `prod-apac-canary-istio`.
 */
export function slugOf(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug || 'x';
}

export const deployFileSchema: ObjectSchema = {
  kind: 'object',
  what: 'a mapping of deploy-file keys (version, application, targets, ...)',
  fields: {
    version: {
      schema: text({
        coerce: true,
        refine: (v: string, at: RefineAt) => {
          if (v.toLowerCase() !== 'v1') {
            at.report(
              'BRL_DF_VERSION',
              `version ${JSON.stringify(v)} is not a deploy-file version; the file is read as version v1`,
              'write version: v1',
            );
          }
          return 'v1';
        },
      }),
      default: () => 'v1',
    },
    kind: { schema: text({ enum: KINDS }), default: () => 'kubernetes' },
    application: { schema: text({ nonEmpty: true }), required: true },
    description: { schema: text({ coerce: true }) },
    deploymentConfig: {
      schema: {
        kind: 'object',
        what: 'deploymentConfig {timeout, ifDeploymentInProgress, keepDeploymentObject}',
        fields: {
          timeout: {
            schema: {
              ...duration,
              refine: (v: { duration: number; unit: TimeUnit }, at: RefineAt) => {
                const d = toDuration(v);
                if (d.ms < MIN_DEPLOYMENT_TIMEOUT_MS) {
                  at.report(
                    'BRL_DF_TIMEOUT_TOO_SHORT',
                    `deploymentConfig.timeout is ${d.duration} ${d.unit}; the minimum is 60 seconds`,
                    'use at least {duration: 60, unit: seconds}',
                  );
                  return undefined;
                }
                return d;
              },
            },
            default: () => toDuration({ duration: 30, unit: 'minutes' }),
          },
          ifDeploymentInProgress: {
            schema: {
              kind: 'object',
              what: 'ifDeploymentInProgress {strategy}',
              fields: {
                strategy: { schema: text({ enum: ['reject', 'enqueueOne'] }), default: () => 'reject' },
              },
            },
            default: () => ({ strategy: 'reject' }),
          },
          keepDeploymentObject: { schema: bool },
        },
      },
      default: () => ({
        timeout: toDuration({ duration: 30, unit: 'minutes' }),
        ifDeploymentInProgress: { strategy: 'reject' },
      }),
    },
    targets: {
      schema: {
        kind: 'map',
        what: 'a mapping of environment name to target',
        values: target,
        keyPattern: ANY_NAME,
        keyHint: ANY_NAME_HINT,
        entry: 'target name',
        minEntries: 1,
        normalize: (v: Record<string, Record<string, unknown> | null>) => {
          for (const [key, t] of Object.entries(v)) if (t) v[key] = { name: key, slug: slugOf(key), ...t };
          return v;
        },
      },
      required: true,
    },
    manifests: { schema: { kind: 'list', what: 'a list of manifests', items: manifest }, default: () => [] },
    artifacts: { schema: list('a list of Lambda artifacts', artifact) },
    providerOptions: {
      schema: {
        kind: 'object',
        what: 'providerOptions {lambda}',
        fields: { lambda: { schema: list('a list of Lambda provider options', lambdaProviderOptions) } },
      },
    },
    strategies: {
      schema: {
        kind: 'map',
        what: 'a mapping of strategy name to strategy',
        values: strategy,
        keyPattern: ANY_NAME,
        keyHint: ANY_NAME_HINT,
        entry: 'strategy name',
      },
      default: () => ({}),
    },
    analysis: {
      schema: {
        kind: 'object',
        what: 'analysis {defaultMetricProviderName, queries}',
        fields: {
          defaultMetricProviderName: { schema: name() },
          queries: {
            schema: {
              kind: 'list',
              what: 'a list of queries',
              items: {
                kind: 'object',
                what: 'a query {name, queryTemplate, upperLimit, lowerLimit}',
                fields: {
                  name: { schema: name(), required: true },
                  queryTemplate: { schema: text({ nonEmpty: true }), required: true },
                  upperLimit: { schema: num },
                  lowerLimit: { schema: num },
                  metricProviderName: { schema: name() },
                  aggregationMethod: {
                    schema: { kind: 'any' },
                    ignored: 'Armory dropped aggregationMethod; the queryTemplate itself aggregates',
                  },
                },
                refine: (v: { name: string; upperLimit?: number; lowerLimit?: number }, at: RefineAt) => {
                  if (v.upperLimit === undefined && v.lowerLimit === undefined) {
                    at.report(
                      'BRL_DF_REQUIRED',
                      `query "${v.name}" has neither upperLimit nor lowerLimit, so no result could fail it`,
                      'add upperLimit: <number>, lowerLimit: <number>, or both',
                    );
                    // Kept: steps that name it must not report an unknown query as well.
                  }
                  return v;
                },
              },
            },
            default: () => [],
          },
        },
      },
      default: () => ({ queries: [] }),
    },
    webhooks: { schema: { kind: 'list', what: 'a list of webhooks', items: webhook }, default: () => [] },
    trafficManagement: {
      schema: list('a list of traffic management entries', trafficManagementEntry),
      default: () => [],
    },
    context: { schema: contextMap, default: () => ({}) },
  },
};
