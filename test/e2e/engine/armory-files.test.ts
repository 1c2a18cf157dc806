import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bins, startProcess, stopAll } from '../support/processes.js';
import { startPlane, type TestPlane, TOKEN } from './support.js';

/**
 * Issue 13 through the real programs: the CLI checks manifest paths next to the file (the API
 * cannot), and a valid kind: lambda file is refused at start with ONE error on a control plane
 * whose only target driver deploys Kubernetes.
 */
let plane: TestPlane;
let dir: string;

beforeAll(async () => {
  plane = await startPlane();
  dir = mkdtempSync(join(tmpdir(), 'brl-armory-'));
  mkdirSync(join(dir, 'k8s'));
  writeFileSync(join(dir, 'k8s', 'app.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n');
});
afterAll(async () => {
  await stopAll();
  await plane?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]) {
  return startProcess(bins.cli, { args, env: { BOREALIS_URL: plane.cp.url, BOREALIS_API_TOKEN: TOKEN } });
}

const k8sFile = (path: string) => `application: Potato Facts
targets:
  prod-apac (canary-istio):
    account: prod-cluster
    constraints:
      beforeDeployment:
        - pause: {duration: 1, unit: SECONDS}
manifests:
  - path: ${path}
`;

const lambdaFile = `version: v1
kind: lambda
application: fn-app
targets:
  dev:
    account: aws-dev
    deployAsIamRole: arn:aws:iam::000000000000:role/DeployRole
    region: eu-north-1
artifacts:
  - functionName: fn
    path: s3://example-bucket/fn.zip
    type: zipFile
providerOptions:
  lambda:
    - name: fn
      target: dev
      runAsIamRole: arn:aws:iam::000000000000:role/ExecRole
      handler: index.handler
      runtime: nodejs20.x
`;

describe('deploy files written for Armory', () => {
  it('validate -f: a manifest path that is not next to the file is an error naming it', async () => {
    const good = join(dir, 'good.yml');
    writeFileSync(good, k8sFile('k8s/app.yaml'));
    const ok = cli(['deploy', 'validate', '-f', good]);
    expect((await ok.exited).code, ok.output()).toBe(0);

    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, k8sFile('k8s/missing.yaml'));
    const p = cli(['deploy', 'validate', '-f', bad]);
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toContain('bad.yml:9:11: error BRL_DF_MANIFEST_NOT_FOUND');
    expect(p.output()).toContain('"k8s/missing.yaml"');
  });

  it('start -f refuses a missing manifest before sending; the API (text only) cannot check it', async () => {
    const bad = join(dir, 'bad-start.yml');
    writeFileSync(bad, k8sFile('k8s/missing.yaml'));
    const p = cli(['deploy', 'start', '-f', bad]);
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toContain('BRL_DF_MANIFEST_NOT_FOUND');
    const { json } = await plane.api<{ deployments: Array<{ application: string }> }>(
      'GET',
      '/api/v1/deployments?limit=1000',
    );
    expect(json.deployments.map((d) => d.application)).not.toContain('Potato Facts');
  });

  it('a uriTemplate that is wholly a secret or a context value is checked at start, naming the variable', async () => {
    const file = (uriTemplate: string) => `application: hooks-at-start
targets:
  dev:
    account: dev-cluster
    constraints:
      afterDeployment:
        - runWebhook: {name: notify}
manifests: [{path: k8s/app.yaml}]
webhooks:
  - name: notify
    method: POST
    uriTemplate: '${uriTemplate}'
    disableCallback: true
`;
    await plane.cp.secrets.put('notify_url', 'hooks.example.com/services/very-secret-part');
    const bySecret = await plane.api<{ error: { code: string; message: string } }>(
      'POST',
      '/api/v1/deployments',
      { deployFile: file('{{secrets.notify_url}}') },
    );
    expect(bySecret.status).toBe(400);
    expect(bySecret.json.error.code).toBe('BRL_ERR_TEMPLATE_INVALID_URI');
    expect(bySecret.json.error.message).toContain('webhook "notify"');
    expect(bySecret.json.error.message).toContain('{{secrets.notify_url}}');
    expect(bySecret.json.error.message).toContain('targets.dev.constraints.afterDeployment[0]');
    expect(bySecret.json.error.message).not.toContain('very-secret-part');

    const byContext = await plane.api<{ error: { code: string; message: string } }>(
      'POST',
      '/api/v1/deployments',
      { deployFile: file('{{context.uri}}/notify'), context: { uri: 'ftp://files.example.com' } },
    );
    expect(byContext.status).toBe(400);
    expect(byContext.json.error.message).toContain('{{context.uri}}');

    const { json } = await plane.api<{ deployments: Array<{ application: string }> }>(
      'GET',
      '/api/v1/deployments?limit=1000',
    );
    expect(json.deployments.map((d) => d.application)).not.toContain('hooks-at-start');

    // A good value starts the deployment.
    const ok = await plane.api<{ deploymentId: string }>('POST', '/api/v1/deployments', {
      deployFile: file('{{context.uri}}/notify'),
      context: { uri: 'https://hooks.example.com' },
    });
    expect(ok.status).toBe(202);
    expect(ok.json.deploymentId).toBeTruthy();
  });

  it('a kind: lambda file validates, and starting it is one clear error naming the missing driver', async () => {
    const path = join(dir, 'lambda.yml');
    writeFileSync(path, lambdaFile);
    const v = cli(['deploy', 'validate', '-f', path]);
    expect((await v.exited).code, v.output()).toBe(0);

    const res = await plane.api<{ error: { code: string; message: string; diagnostics?: unknown } }>(
      'POST',
      '/api/v1/deployments',
      lambdaFile,
      'application/yaml',
    );
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('BRL_ERR_DRIVER_UNSUPPORTED_KIND');
    expect(res.json.error.message).toContain('kind: lambda');
    expect(res.json.error.message).toContain('Lambda target driver');
    expect(res.json.error.diagnostics).toBeUndefined();

    const s = cli(['deploy', 'start', '-f', path]);
    expect((await s.exited).code).not.toBe(0);
    const errorLines = s
      .output()
      .split('\n')
      .filter((l) => /error|BRL_/.test(l));
    expect(errorLines.length, s.output()).toBe(1);
  });
});
