import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type DeploymentSpec,
  formatDiagnostics,
  parseDeployFile,
  type WebhookSpec,
} from '@borealis/deploy-spec';
import { describe, expect, it } from 'vitest';
import { mergeContext, type RenderableWebhook, renderWebhookRequest } from './index.js';

const fixture = (name: string) =>
  readFileSync(
    fileURLToPath(new URL(`../../../deploy-spec/test/fixtures/deployfiles/valid/${name}`, import.meta.url)),
    'utf8',
  );

function specOf(text: string): DeploymentSpec {
  const { spec, diagnostics } = parseDeployFile(text);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return spec as DeploymentSpec;
}

/** A file whose target `dev` runs webhook `hook` before deployment; callers append the rest. */
const HOOK_HEAD = `application: app
targets:
  dev:
    account: a
    constraints:
      beforeDeployment:
        - runWebhook: {name: hook}
`;

describe('normalised spec', () => {
  it('applies every default in one place', () => {
    const spec = specOf(`${HOOK_HEAD}      afterDeployment:
        - analysis: {interval: 1, units: minutes, numberOfJudgmentRuns: 1, queries: [q]}
analysis:
  defaultMetricProviderName: prom
  queries: [{name: q, queryTemplate: x, upperLimit: 1}]
webhooks:
  - name: hook
    method: post
    uriTemplate: https://h.example/
manifests:
  - path: k8s/app.yaml
`);
    expect(spec.version).toBe('v1');
    expect(spec.kind).toBe('kubernetes');
    expect(spec.deploymentConfig).toEqual({
      timeout: { duration: 30, unit: 'minutes', ms: 1_800_000 },
      ifDeploymentInProgress: { strategy: 'reject' },
    });
    expect(spec.webhooks[0]).toEqual({
      name: 'hook',
      method: 'POST',
      uriTemplate: 'https://h.example/',
      networkMode: 'direct',
      headers: [],
      retryCount: 0,
      disableCallback: false,
    });
    expect(spec.targets.dev).toEqual({
      name: 'dev',
      slug: 'dev',
      account: 'a',
      constraints: {
        dependsOn: [],
        beforeDeployment: [{ type: 'runWebhook', name: 'hook', context: {} }],
        afterDeployment: [
          {
            type: 'analysis',
            interval: 1,
            units: 'minutes',
            numberOfJudgmentRuns: 1,
            queries: ['q'],
            rollBackMode: 'automatic',
            rollForwardMode: 'automatic',
            context: {},
          },
        ],
      },
    });
    expect(spec.strategies).toEqual({});
    expect(spec.manifests).toEqual([{ path: 'k8s/app.yaml' }]);
    expect(spec.trafficManagement).toEqual([]);
    expect(spec.context).toEqual({});
  });

  it('folds alternative spellings into the canonical one', () => {
    const spec = specOf(fixture('09-full-reference.yaml'));
    const prod = spec.targets.prod!;
    expect(prod.constraints.beforeDeployment[0]).toEqual({
      type: 'pause',
      untilApproved: true,
      requiresRoles: ['release-manager'],
      approvalExpiration: { duration: 2, unit: 'hours', ms: 7_200_000 },
    });
    expect(prod.constraints.afterDeployment[0]).toMatchObject({ type: 'analysis', units: 'minutes' });
    const bg = spec.strategies.bg!;
    expect(bg.type).toBe('blueGreen');
    if (bg.type === 'blueGreen') {
      expect(bg.shutDownOldVersionAfter).toEqual([
        { type: 'pause', untilApproved: false, duration: { duration: 10, unit: 'minutes', ms: 600_000 } },
      ]);
      expect(bg.redirectTrafficAfter).toEqual([
        { type: 'runWebhook', name: 'notify', context: { stage: 'redirect' } },
      ]);
    }
    expect(spec.webhooks[0]?.method).toBe('POST');
    expect(spec.webhooks[0]?.signingSecret).toBe('notify_signing_key');
    expect(spec.webhooks[0]?.headers[1]).toEqual({ key: 'X-Attempts', value: '2' });
    expect(spec.context).toEqual({ team: 'payments', replicas: '3' });
    expect(spec.deploymentConfig.ifDeploymentInProgress.strategy).toBe('enqueueOne');
    expect(Object.keys(spec.targets)).toEqual(['dev', 'prod']);
  });

  it('treats runWebhook context: [] as an empty dictionary', () => {
    const spec = specOf(fixture('04-trigger-context-empty-list.yaml'));
    expect(spec.targets.dev?.constraints.beforeDeployment[0]).toEqual({
      type: 'runWebhook',
      name: 'webhook-name',
      context: {},
    });
  });

  it('a name like __proto__ stays data', () => {
    const spec = specOf(`application: app
targets:
  dev: {account: a}
manifests: [{path: k8s/app.yaml}]
context:
  __proto__: x
  constructor: y
`);
    expect(Object.getPrototypeOf(spec.context)).toBe(Object.prototype);
    expect(Object.hasOwn(spec.context, '__proto__')).toBe(true);
    expect(spec.context.constructor).toBe('y');
  });
});

describe('formatDiagnostics', () => {
  it('prints compiler-style lines with hints', () => {
    const { diagnostics } = parseDeployFile(`application: app
targets:
  dev:
    stratgy: x
manifests: [{path: k8s/app.yaml}]
`);
    expect(formatDiagnostics(diagnostics, 'deploy.yml')).toBe(
      'deploy.yml:4:5: error BRL_DF_UNKNOWN_KEY: unknown key "stratgy" in targets.dev\n  hint: did you mean "strategy"?',
    );
  });

  it('the product-page trap gets the quoting fix in its hint, at its line', () => {
    const { diagnostics, spec } = parseDeployFile(`${HOOK_HEAD}webhooks:
  - name: hook
    method: POST
    uriTemplate: https://h.example/
    headers:
      - key: Location
        value: {{armory.callbackUri}}/callback
manifests: [{path: k8s/app.yaml}]
`);
    expect(spec).toBeUndefined();
    expect(formatDiagnostics(diagnostics, 'f.yml')).toContain('f.yml:14:16: error BRL_DF_UNQUOTED_TEMPLATE');
    expect(diagnostics[0]?.hint).toBe('quote the value: value: "{{armory.callbackUri}}/callback"');
  });
});

describe('deploy file to webhook request', () => {
  it('a validated webhook renders with the templates module', () => {
    const spec = specOf(fixture('03-integration-tests-rna-quoted.yaml'));
    const webhook: WebhookSpec = spec.webhooks[0]!;
    const renderable: RenderableWebhook = webhook; // the spec type fits the renderer structurally
    const step = spec.targets.staging!.constraints.afterDeployment[0]!;
    const callContext = step.type === 'runWebhook' ? step.context : {};
    const request = renderWebhookRequest(renderable, {
      armory: { callbackUri: 'https://cp.example/callbacks/t0k' },
      context: mergeContext(spec.context, { environment: 'from-cli' }, callContext),
      secrets: { test_token: 'tok' },
    });
    expect(request).toEqual({
      method: 'POST',
      url: 'https://integrations.armory.io/tests/',
      logUrl: 'https://integrations.armory.io/tests/',
      headers: [
        ['Authorization', 'Bearer tok'],
        ['Location', 'https://cp.example/callbacks/t0k/callback'],
        ['Content-Type', 'application/json'],
        ['environment', 'staging'],
      ],
    });
  });
});

describe('requiresRoles', () => {
  const file = (roles: string) => `application: app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]
targets:
  prod:
    constraints:
      beforeDeployment:
        - pause: {untilApproved: true, requiresRoles: ${roles}}
`;
  it('keeps role names a token can hold, Armory-style spaces included, without a warning', () => {
    const { spec, diagnostics } = parseDeployFile(file('[prod-approvers, Organization Admin]'));
    expect(diagnostics).toEqual([]);
    const step = spec?.targets.prod?.constraints.beforeDeployment[0];
    expect(step).toMatchObject({
      type: 'pause',
      untilApproved: true,
      requiresRoles: ['prod-approvers', 'Organization Admin'],
    });
  });

  it('warns, with the fix, about a role no token can hold (only admin could approve)', () => {
    const { spec, diagnostics } = parseDeployFile(file('["approvers ", "r\\u00f4le", ok]'));
    expect(spec).toBeDefined();
    expect(diagnostics.map((d) => [d.code, d.severity])).toEqual([['BRL_DF_ROLE_NAME', 'warning']]);
    expect(diagnostics[0]?.message).toContain('"approvers "');
    expect(diagnostics[0]?.message).toContain('only an admin could approve');
    expect(diagnostics[0]?.hint).toContain('borealis tokens create');
  });
});
