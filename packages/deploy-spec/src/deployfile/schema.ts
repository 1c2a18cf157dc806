/**
 * THE schema of the deploy file (spec/deploy-file-reference.md and the webhook product page).
 * Every key, both spellings where two are in use, and every default live here and only here.
 */

import type { ObjectSchema, RefineAt } from './schema-language.js';
import {
  ANY_NAME,
  ANY_NAME_HINT,
  bool,
  contextMap,
  duration,
  kubernetesName,
  list,
  MIN_DEPLOYMENT_TIMEOUT_MS,
  name,
  num,
  targetNames,
  text,
  toDuration,
} from './schema-primitives.js';
import { constraints, steps } from './schema-steps.js';
import { webhook } from './schema-webhook.js';
import type { TimeUnit } from './spec-types.js';

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
