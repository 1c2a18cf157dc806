import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployFileHead } from '../../kit/deploy-file.js';
import { bins, startProcess, stopAll, until } from '../support/processes.js';
import { type HookServer, startHookServer, startPlane, type TestPlane, TOKEN, webhook } from './support.js';

/** `borealis deploy start -f FILE --watch`, spawned as a person would run it. */
let plane: TestPlane;
let hooks: HookServer;
let dir: string;

beforeAll(async () => {
  hooks = await startHookServer();
  plane = await startPlane();
  dir = mkdtempSync(join(tmpdir(), 'brl-cli-'));
});
afterAll(async () => {
  await stopAll();
  await plane?.close();
  await hooks?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]) {
  return startProcess(bins.cli, { args, env: { BOREALIS_URL: plane.cp.url, BOREALIS_API_TOKEN: TOKEN } });
}

/** `deploy <command> [extra…] -f <yaml written to name>`. */
function deployWithFile(command: string, name: string, yaml: string, ...extra: string[]) {
  return cli(['deploy', command, ...extra, '-f', file(name, yaml)]);
}

function file(name: string, yaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

const twoEnvs = (app: string, mode: 'ok' | 'fail') => `application: ${app}
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  staging:
    account: staging-cluster
    strategy: canary
    constraints:
      afterDeployment:
        - runWebhook:
            name: Run-Integration-Tests
  prod:
    strategy: canary
    constraints:
      dependsOn: [staging]
strategies:
  canary:
    canary:
      steps:
        - setWeight:
            weight: 25
        - pause:
            duration: 1
            unit: seconds
webhooks:
${webhook('Run-Integration-Tests', hooks.url, mode)}`;

describe('deploy start --watch', () => {
  it('shows progress and exits 0 on success', async () => {
    const p = cli(['deploy', 'start', '-f', file('ok.yml', twoEnvs('cli-ok', 'ok')), '--watch']);
    const { code } = await p.exited;
    const output = p.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/\[staging\] started/);
    expect(output).toMatch(/\[staging\] strategy\.steps\[1\]|\[staging\] pause 1 seconds: paused until/);
    expect(output).toMatch(/\[staging\] runWebhook Run-Integration-Tests: calling \(direct\)/);
    expect(output).toMatch(/\[prod\] SUCCEEDED/);
    expect(output).toMatch(/deployment .* SUCCEEDED/);
  }, 30_000);

  it('exits non-zero on failure', async () => {
    const p = cli(['deploy', 'start', '-f', file('fail.yml', twoEnvs('cli-fail', 'fail')), '--watch']);
    const { code } = await p.exited;
    const output = p.output();
    expect(code, output).toBe(1);
    expect(output).toMatch(/\[staging\] FAILED/);
    expect(output).toMatch(/\[prod\] CANCELLED/);
    expect(output).toContain('ended FAILED');
  }, 30_000);

  it('shows the approval command, and exits non-zero when cancelled', async () => {
    const p = deployWithFile(
      'start',
      'approval.yml',
      `${deployFileHead('cli-cancel')}        - pause:\n            untilApproved: true\n`,
      '--watch',
    );
    const line = await until(
      () => p.lines.find((l) => l.raw.includes('waiting for approval')),
      'approval line',
    );
    // The hint names the CLI as it was run (here `node <path>/borealis.js`), so it can be pasted.
    const ran = `node ${bins.cli}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const id = new RegExp(`${ran} deploy approve (\\S+) --env prod`).exec(line.raw)?.[1];
    expect(id).toBeTruthy();
    const cancel = cli(['deploy', 'cancel', id!, '--reason', 'not today']);
    expect((await cancel.exited).code, cancel.output()).toBe(0);
    const { code } = await p.exited;
    expect(code, p.output()).toBe(3);
    expect(p.output()).toContain('CANCELLED');
  }, 30_000);

  it('validate prints compiler-style diagnostics and exits 1 on errors', async () => {
    const p = deployWithFile(
      'validate',
      'bad.yml',
      'application: x\nmanifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]\ntargets:\n  dev:\n    strategy: nope\n',
    );
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.output()).toMatch(/bad\.yml:\d+:\d+: error BRL_DF_/);
  });
});
