import { describe, expect, it } from 'vitest';
import { canaryAnalysisHead } from '../../../../test/kit/deploy-file.js';
import { parseDeployFile } from './index.js';

const file = (
  analysis: string,
  stepExtra = '',
) => `${canaryAnalysisHead({ stepExtra })}            numberOfJudgmentRuns: 2
            queries: [error-rate, latency]
${analysis}manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]
`;

const codes = (text: string, metricProviders?: string[]) =>
  parseDeployFile(text, metricProviders ? { metricProviders } : {}).diagnostics.map(
    (d) => `${d.code} ${d.line}:${d.column} ${d.message}`,
  );

describe('analysis checks', () => {
  const okAnalysis = `analysis:
  defaultMetricProviderName: prom
  queries:
    - name: error-rate
      queryTemplate: sum(rate(errors{app="{{armory.applicationName}}"}[{{armory.promQlStepInterval}}]))
      upperLimit: 0.05
    - name: latency
      metricProviderName: web
      queryTemplate: /p99?since={{armory.startTimeEpochSeconds}}&env={{context.env}}
      lowerLimit: 0
      upperLimit: 300
`;
  const ok = file(okAnalysis);
  it('a file whose queries resolve to existing providers passes, offline and at start', () => {
    expect(codes(ok)).toEqual([]);
    expect(codes(ok, ['prom', 'web'])).toEqual([]);
  });

  it('at start: an unknown provider is named at the line and column that names it, with those that exist', () => {
    const got = codes(
      ok.replace('defaultMetricProviderName: prom', 'defaultMetricProviderName: promethues'),
      ['prom', 'web'],
    );
    expect(got).toEqual([
      'BRL_DF_UNKNOWN_METRIC_PROVIDER 17:30 metric provider "promethues" does not exist (existing: prom, web)',
    ]);
    const d = parseDeployFile(
      ok.replace('defaultMetricProviderName: prom', 'defaultMetricProviderName: promethues'),
      {
        metricProviders: ['prometheus'],
      },
    ).diagnostics[0];
    expect(d?.hint).toContain('did you mean prometheus?');
    // Offline nobody knows which providers exist: no such error.
    expect(
      codes(ok.replace('defaultMetricProviderName: prom', 'defaultMetricProviderName: promethues')),
    ).toEqual([]);
  });

  it("at start: the step's metricProviderName wins over the default, the query's over both", () => {
    const got = codes(ok, ['web']);
    expect(got).toEqual([
      'BRL_DF_UNKNOWN_METRIC_PROVIDER 17:30 metric provider "prom" does not exist (existing: web)',
    ]);
    const step = codes(file(okAnalysis, '\n            metricProviderName: nope'), ['prom', 'web']);
    expect(step).toEqual([
      'BRL_DF_UNKNOWN_METRIC_PROVIDER 12:33 metric provider "nope" does not exist (existing: prom, web)',
    ]);
  });

  it('a query with no provider anywhere, or no limit, is refused once (by the parser, offline too)', () => {
    const text = file(`analysis:
  queries:
    - name: error-rate
      queryTemplate: sum(x)
    - name: latency
      queryTemplate: sum(y)
      upperLimit: 1
`);
    expect(codes(text, ['prom'])).toEqual([
      'BRL_DF_NO_METRIC_PROVIDER 11:11 this analysis step names no metricProviderName, and analysis has no defaultMetricProviderName: nothing would judge it',
      'BRL_DF_REQUIRED 18:7 query "error-rate" has neither upperLimit nor lowerLimit, so no result could fail it',
    ]);
  });

  it('offline: query templates may not use secrets, unknown armory variables, or helpers; limits must not cross', () => {
    const text = file(`analysis:
  defaultMetricProviderName: prom
  queries:
    - name: error-rate
      queryTemplate: sum(x{token="{{secrets.t}}"})
      upperLimit: 1
    - name: latency
      queryTemplate: sum(y[{{armory.callbackUri}}])
      lowerLimit: 5
      upperLimit: 1
`);
    const got = codes(text);
    expect(got).toHaveLength(3);
    expect(got[0]).toMatch(
      /^BRL_DF_UNKNOWN_TEMPLATE_ROOT 20:22 \{\{secrets.t\}\}: secrets are not available/,
    );
    expect(got[1]).toMatch(
      /^BRL_DF_UNKNOWN_ARMORY_VAR 23:22 \{\{armory.callbackUri\}\} is not set in analysis queries/,
    );
    expect(got[2]).toMatch(/^BRL_DF_OUT_OF_RANGE 24:19 lowerLimit 5 is above upperLimit 1/);
  });
});
