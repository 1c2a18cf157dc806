/**
 * Checks of `analysis`: query templates (always, offline) and, when the caller knows which metric
 * providers exist (the control plane at start), that every query an analysis step runs resolves
 * to one of them.
 */
import { inspectTemplate, QUERY_ARMORY_VARIABLES } from '../templates/index.js';
import { allSteps, type Located } from './call-sites.js';
import type { DiagnosticSink } from './diagnostic.js';
import { didYouMean } from './did-you-mean.js';
import type { DeploymentSpec } from './spec-types.js';
import { joinPath } from './yaml-nodes.js';

export function checkAnalysis(
  spec: DeploymentSpec,
  loc: Located,
  sink: DiagnosticSink,
  knownProviders: readonly string[] | undefined,
): void {
  const defined = spec.analysis?.queries ?? [];
  defined.forEach((q, i) => {
    if (!q || typeof q.queryTemplate !== 'string') return;
    const path = joinPath(joinPath(joinPath('analysis', 'queries'), i), 'queryTemplate');
    const at = loc.at(path);
    const inspection = inspectTemplate(q.queryTemplate);
    if (!inspection.ok) {
      const p = inspection.problem;
      sink.add(
        p.kind === 'syntax' ? 'BRL_DF_TEMPLATE_SYNTAX' : 'BRL_DF_TEMPLATE_UNSUPPORTED',
        at,
        path,
        `queryTemplate of ${q.name}: ${p.message}`,
        'query templates use {{armory.name}} and {{context.name}} only',
      );
      return;
    }
    for (const v of inspection.variables) {
      if ((v.root === 'armory' || v.root === 'borealis') && v.segments === 2) {
        if (!QUERY_ARMORY_VARIABLES.includes(v.name))
          sink.add(
            'BRL_DF_UNKNOWN_ARMORY_VAR',
            at,
            path,
            `{{${v.path}}} is not set in analysis queries`,
            `known here: ${QUERY_ARMORY_VARIABLES.join(', ')}${didYouMean(v.name, QUERY_ARMORY_VARIABLES) ? `; did you mean ${didYouMean(v.name, QUERY_ARMORY_VARIABLES)}?` : ''}`,
          );
      } else if (v.root === 'context' && v.segments === 2) {
        // Values come from the file, the step's context or --context at start.
      } else if (v.root === 'secrets') {
        sink.add(
          'BRL_DF_UNKNOWN_TEMPLATE_ROOT',
          at,
          path,
          `{{${v.path}}}: secrets are not available in analysis queries (queries are recorded and shown)`,
          "put credentials in the metric provider's headers: borealis metric-providers set NAME ... --header 'Authorization=Bearer {{secrets.x}}'",
        );
      } else {
        sink.add(
          'BRL_DF_UNKNOWN_TEMPLATE_ROOT',
          at,
          path,
          `{{${v.path}}} is not a query template variable`,
          'use {{armory.name}} or {{context.name}}',
        );
      }
    }
    if (typeof q.lowerLimit === 'number' && typeof q.upperLimit === 'number' && q.lowerLimit > q.upperLimit) {
      const lp = joinPath(joinPath(joinPath('analysis', 'queries'), i), 'lowerLimit');
      sink.add(
        'BRL_DF_OUT_OF_RANGE',
        loc.at(lp),
        lp,
        `lowerLimit ${q.lowerLimit} is above upperLimit ${q.upperLimit}: no value could pass`,
        'swap them',
      );
    }
  });

  if (knownProviders === undefined) return;
  const known = new Set(knownProviders);
  const existing = knownProviders.length ? `existing: ${knownProviders.join(', ')}` : 'none exist yet';
  const register = (name: string) =>
    `register it: borealis metric-providers set ${name} --type prometheus --url URL [--agent ID]`;
  const byName = new Map(defined.filter((q) => q?.name).map((q, i) => [q.name, { q, i }]));
  for (const { step, path } of allSteps(spec)) {
    if (step.type !== 'analysis') continue;
    const stepProvider = typeof step.metricProviderName === 'string' ? step.metricProviderName : undefined;
    for (const name of (step.queries as string[] | undefined) ?? []) {
      const found = byName.get(name);
      if (!found) continue; // BRL_DF_UNKNOWN_QUERY says so
      const { q, i } = found;
      const qPath = joinPath(joinPath('analysis', 'queries'), i);
      let provider: string | undefined;
      let where: string;
      if (q.metricProviderName) {
        provider = q.metricProviderName;
        where = joinPath(qPath, 'metricProviderName');
      } else if (stepProvider) {
        provider = stepProvider;
        where = joinPath(joinPath(path, 'analysis'), 'metricProviderName');
      } else {
        provider = spec.analysis.defaultMetricProviderName;
        where = joinPath('analysis', 'defaultMetricProviderName');
      }
      // No provider at all: BRL_DF_NO_METRIC_PROVIDER (cross-checks) says so, offline too.
      if (!provider) continue;
      if (!known.has(provider)) {
        const hint = didYouMean(provider, knownProviders);
        sink.add(
          'BRL_DF_UNKNOWN_METRIC_PROVIDER',
          loc.at(where),
          where,
          `metric provider "${provider}" does not exist (${existing})`,
          hint ? `did you mean ${hint}? Or ${register(provider)}` : register(provider),
        );
      }
    }
  }
}
