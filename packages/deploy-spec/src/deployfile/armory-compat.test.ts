/**
 * Issue 13: deploy files written for Armory CD-as-a-Service. The fixtures under
 * test/fixtures/deployfiles/{valid,invalid}/ (11, 20-28, armory-*, lambda-*, analysis-*, yaml-*) pin the verdicts
 * and positions; these tests pin what the parsed spec holds, and the checks that need a directory.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type DeploymentSpec, parseDeployFile, slugOf } from './index.js';

const fixture = (name: string) =>
  readFileSync(
    fileURLToPath(new URL(`../../test/fixtures/deployfiles/valid/${name}`, import.meta.url)),
    'utf8',
  );

function specOf(text: string): DeploymentSpec {
  const { spec, diagnostics } = parseDeployFile(text);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return spec as DeploymentSpec;
}

describe('Armory deploy files: what the spec holds', () => {
  it('enum values in any case are normalised to the canonical spelling, without a warning', () => {
    const { spec, diagnostics } = parseDeployFile(fixture('20-armory-enum-case.yaml'));
    expect(diagnostics).toEqual([]);
    expect(spec?.kind).toBe('kubernetes');
    expect(spec?.deploymentConfig).toEqual({
      timeout: { duration: 30, unit: 'minutes', ms: 1_800_000 },
      ifDeploymentInProgress: { strategy: 'enqueueOne' },
      keepDeploymentObject: true,
    });
    expect(spec?.description).toBe("upper-case enums as Armory's template command writes them");
    expect(spec?.targets.dev?.constraints.beforeDeployment[0]).toEqual({
      type: 'pause',
      untilApproved: false,
      duration: { duration: 10, unit: 'seconds', ms: 10_000 },
    });
    const canary = spec?.strategies['canary-upper'];
    expect(canary?.type === 'canary' && canary.steps[1]).toMatchObject({
      type: 'analysis',
      units: 'seconds',
      rollBackMode: 'manual',
      rollForwardMode: 'automatic',
      lookbackMethod: 'growing',
    });
    expect(canary?.type === 'canary' && canary.steps[2]).toMatchObject({
      ttl: { duration: 1, unit: 'hours', ms: 3_600_000 },
    });
    expect(spec?.webhooks[0]).toMatchObject({ method: 'POST', networkMode: 'direct' });
  });

  it('names are any text; each carries a slug for labels and URLs, the original for display', () => {
    const spec = specOf(fixture('21-armory-names.yaml'));
    expect(spec.application).toBe('Potato Facts');
    expect(spec.applicationSlug).toBe('potato-facts');
    expect(Object.keys(spec.targets)).toEqual(['staging west', 'prod-apac (canary-istio)']);
    expect(spec.targets['prod-apac (canary-istio)']).toMatchObject({
      name: 'prod-apac (canary-istio)',
      slug: 'prod-apac-canary-istio',
      strategy: 'rolling canary',
      constraints: { dependsOn: ['staging west'] },
    });
    expect(spec.trafficManagement[0]).toEqual({
      targets: ['prod-apac (canary-istio)'],
      istio: [
        {
          virtualService: { name: 'potato-vs', httpRouteName: 'http-main' },
          destinationRule: { name: 'potato-dr', activeSubsetName: 'stable', canarySubsetName: 'canary' },
        },
      ],
    });
  });

  it('slugOf: lower case, one "-" per run of other characters, at most 63, never empty', () => {
    expect(slugOf('Potato Facts')).toBe('potato-facts');
    expect(slugOf('  --Ärger__und  Ölß-- ')).toBe('arger-und-ol');
    expect(slugOf('日本')).toBe('x');
    const long = slugOf(`${'a'.repeat(62)} b`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long.endsWith('-')).toBe(false);
  });

  it('blueGreen without activeService is accepted when trafficManagement names it', () => {
    const spec = specOf(fixture('22-armory-bluegreen-traffic.yaml'));
    const bg = spec.strategies.bg;
    expect(bg?.type).toBe('blueGreen');
    expect(bg?.type === 'blueGreen' && bg.activeService).toBeUndefined();
    expect(spec.trafficManagement[0]?.kubernetes).toEqual([
      { activeService: 'bg-active', previewService: 'bg-preview' },
    ]);
  });

  it('kind: lambda gives the Lambda parts of the spec', () => {
    const spec = specOf(fixture('25-armory-lambda.yaml'));
    expect(spec.kind).toBe('lambda');
    expect(spec.manifests).toEqual([]);
    expect(spec.artifacts?.map((a) => a.functionName)).toEqual(['sweet-fn-dev', 'sweet-fn-prod']);
    expect(spec.providerOptions?.lambda?.[1]).toEqual({
      name: 'sweet-fn-prod',
      target: 'prod-eu-west-1',
      runAsIamRole: 'arn:aws:iam::111111111111:role/ExecRole',
      handler: 'index.handler',
      runtime: 'nodejs20.x',
    });
    expect(spec.targets.dev).toMatchObject({ region: 'eu-north-1', account: 'aws-dev' });
  });

  it('version apps/v1 is read as v1 with a warning; an ignored field is not kept', () => {
    const { spec, diagnostics } = parseDeployFile(fixture('11-version-apps-v1.yaml'));
    expect(spec?.version).toBe('v1');
    expect(diagnostics.map((d) => [d.code, d.severity])).toEqual([['BRL_DF_VERSION', 'warning']]);
    const dropped = specOf(fixture('26-armory-dropped-field.yaml'));
    expect(dropped.analysis.queries[0]).toEqual({
      name: 'cpu',
      queryTemplate: 'avg(cpu)',
      lowerLimit: 0,
      upperLimit: 80,
    });
  });

  it('{{armory.preview.<service>}} of a service no step exposes is a warning naming it', () => {
    const text = fixture('24-armory-preview-link.yaml').replace(
      'armory.preview.preview-app-svc',
      'armory.preview.other-svc',
    );
    const { diagnostics, spec } = parseDeployFile(text);
    expect(spec).toBeDefined();
    expect(diagnostics.map((d) => d.code)).toEqual(['BRL_DF_PREVIEW_NOT_EXPOSED']);
    expect(diagnostics[0]?.message).toContain('other-svc');
    expect(diagnostics[0]?.hint).toContain('preview-app-svc');
  });
});

describe('every problem gets a hint', () => {
  it('every out-of-range number and every wrong enum value says how to fix it', () => {
    const { diagnostics } = parseDeployFile(`application: app
targets:
  dev:
    account: a
    strategy: s
    constraints:
      afterDeployment:
        - analysis: {interval: 0, units: minutes, numberOfJudgmentRuns: 0, queries: [q], rollBackMode: never}
manifests: [{path: k8s/app.yaml}]
strategies:
  s:
    canary:
      steps:
        - setWeight: {weight: 101}
        - setWeight: 50
        - pause: {duration: 1.5, unit: minutes}
analysis:
  queries: [{name: q, queryTemplate: x, upperLimit: 1, metricProviderName: prom}]
webhooks:
  - {name: h, method: POST, uriTemplate: 'https://h.example/', retryCount: 99}
`);
    const codes = diagnostics.map((d) => d.code).sort();
    expect(codes).toEqual(
      [
        'BRL_DF_DURATION',
        'BRL_DF_OUT_OF_RANGE',
        'BRL_DF_OUT_OF_RANGE',
        'BRL_DF_OUT_OF_RANGE',
        'BRL_DF_INVALID_VALUE',
        'BRL_DF_TYPE',
        'BRL_DF_TYPE',
        'BRL_DF_UNUSED_WEBHOOK',
      ].sort(),
    );
    for (const d of diagnostics) expect(d.hint, `${d.code} ${d.message}`).toBeTruthy();
    const shorthand = diagnostics.find((d) => d.message.includes('setWeight') && d.code === 'BRL_DF_TYPE');
    expect(shorthand?.hint).toContain('{weight: 25}');
  });
});

describe('manifest paths on disk (deploy validate -f knows the directory)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'brl-manifests-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'k8s'));
  writeFileSync(join(dir, 'k8s', 'app.yaml'), 'kind: ConfigMap\n');
  const text = `application: app
targets:
  dev: {account: a}
manifests:
  - path: k8s/app.yaml
  - path: k8s
  - path: k8s/missing.yaml
  - inline: "kind: ConfigMap"
`;

  it('a path that does not exist is an error naming it and where it was looked for', () => {
    const { diagnostics, spec } = parseDeployFile(text, { baseDir: dir });
    expect(spec).toBeUndefined();
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      code: 'BRL_DF_MANIFEST_NOT_FOUND',
      line: 7,
      column: 11,
      path: 'manifests[2].path',
    });
    expect(diagnostics[0]?.message).toContain('"k8s/missing.yaml"');
    expect(diagnostics[0]?.message).toContain(join(dir, 'k8s', 'missing.yaml'));
  });

  it('text without a directory (the API) is not checked for paths', () => {
    expect(parseDeployFile(text).diagnostics).toEqual([]);
  });
});

describe('the valid fixtures on disk', () => {
  it('validate with their directory too: every manifests[].path they name exists beside them', () => {
    const dir = fileURLToPath(new URL('../../test/fixtures/deployfiles/valid/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const f of files) {
      const { diagnostics } = parseDeployFile(readFileSync(join(dir, f), 'utf8'), { baseDir: dir });
      expect(
        diagnostics.filter((d) => d.severity === 'error'),
        f,
      ).toEqual([]);
    }
  });
});
