import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProc, startServer, TEST_TOKEN } from './support/control-plane.js';
import { type Run, runCli, stopAll, until } from './support/processes.js';

/**
 * History and rollback after success, through the real server and CLI: two successful
 * deployments of prod (each approved by a person), then `deploy rollback APP --env prod` starts a
 * new deployment of the previous revision, which waits for its approval like any other.
 */
let server: ServerProc;
let work: string;

function cli(args: string[]): Promise<Run> {
  return runCli(args, { url: server.url, token: TEST_TOKEN, env: { HOME: work } });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const deployFile = `application: shop
context:
  version: "0.0.1"
targets:
  staging:
    account: staging
  prod:
    account: prod
    constraints:
      dependsOn: [staging]
      beforeDeployment:
        - pause:
            untilApproved: true
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: shop
      spec:
        template:
          spec:
            containers:
              - name: shop
                image: registry.example.com/shop:{{context.version}}
`;

interface View {
  id: string;
  version: string;
  status: string;
  environments: Array<{
    name: string;
    status: string;
    target: { versions: Array<{ version: string; weight: number }> } | null;
  }>;
}

async function status(id: string): Promise<View> {
  return JSON.parse(await ok(['deploy', 'status', id, '-o', 'json'])) as View;
}

/** Waits for prod's approval, approves it, and waits for the deployment to succeed. */
async function approveProd(id: string): Promise<View> {
  await until(
    async () => (await status(id)).status === 'AWAITING_APPROVAL',
    `${id} awaiting approval`,
    20_000,
  );
  await ok(['deploy', 'approve', id.slice(0, 8), '--env', 'prod', '--reason', 'looks good']);
  return until(
    async () => {
      const v = await status(id);
      return v.status === 'SUCCEEDED' ? v : undefined;
    },
    `${id} succeeded`,
    20_000,
  );
}

async function release(version: string): Promise<string> {
  const started = JSON.parse(
    await ok([
      'deploy',
      'start',
      '-f',
      join(work, 'deploy.yml'),
      '--context',
      `version=${version}`,
      '-o',
      'json',
    ]),
  ) as { deploymentId: string };
  await approveProd(started.deploymentId);
  return started.deploymentId;
}

interface History {
  application: string;
  environments: Array<{
    name: string;
    current: number;
    revisions: Array<{
      revision: number;
      version: string;
      images: string[];
      deploymentId: string;
      startedBy: string;
      approvedBy: string[];
      rollbackOf?: { revision: number; deploymentId: string };
    }>;
  }>;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'brl-history-'));
  writeFileSync(join(work, 'deploy.yml'), deployFile);
  server = await startServer({}, join(work, 'data'));
});
afterAll(async () => {
  await stopAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('history and rollback after success', () => {
  let first: string;
  let second: string;

  it('a single revision cannot be rolled back; the error says why', async () => {
    first = await release('1.0.0');
    const r = await cli(['deploy', 'rollback', 'shop', '--env', 'prod']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('409 BRL_ERR_CONFLICT');
    expect(r.stderr).toContain('only one revision in prod');
  }, 60_000);

  it('history lists each revision with its version, deployment, who started and who approved it', async () => {
    second = await release('1.0.1');
    const h = JSON.parse(await ok(['history', 'shop', '-o', 'json'])) as History;
    const prod = h.environments.find((e) => e.name === 'prod');
    expect(prod?.current).toBe(2);
    expect(prod?.revisions.map((r) => [r.revision, r.version, r.deploymentId])).toEqual([
      [1, '1.0.0', first],
      [2, '1.0.1', second],
    ]);
    expect(prod?.revisions[0]?.images).toEqual(['registry.example.com/shop:1.0.0']);
    const startedBy = prod?.revisions[0]?.startedBy as string;
    expect(startedBy).toBeTruthy();
    expect(prod?.revisions[0]?.approvedBy).toEqual([startedBy]);
    // staging has no approval: nobody approved it.
    expect(h.environments.find((e) => e.name === 'staging')?.revisions[1]?.approvedBy).toEqual([]);
    // The deployment shows the version people asked for, not a made-up label.
    expect((await status(second)).version).toBe('1.0.1');
    expect(await ok(['deploy', 'list', '-a', 'shop'])).toMatch(/shop\s+1\.0\.1\s+SUCCEEDED/);
    const table = await ok(['history', 'shop', '--env', 'prod']);
    expect(table).toMatch(/\*2\s+1\.0\.1/);
    expect(table).toContain('deploy rollback shop --env <environment>');
  }, 60_000);

  it('deploy rollback APP --env prod deploys the previous revision as a new, gated deployment', async () => {
    const out = await ok([
      'deploy',
      'rollback',
      'shop',
      '--env',
      'prod',
      '--reason',
      'checkout broke',
      '-o',
      'json',
    ]);
    const started = JSON.parse(out) as {
      deploymentId: string;
      toRevision: number;
      fromRevision: number;
      version: string;
    };
    expect(started).toMatchObject({ toRevision: 1, fromRevision: 2, version: '1.0.0' });
    // Gated like any other: it waits for prod's approval.
    const done = await approveProd(started.deploymentId);
    expect(done.environments.map((e) => e.name)).toEqual(['prod']);
    expect(done.version).toBe('1.0.0');
    // The target now runs the rollback deployment alone, at full weight.
    expect(done.environments[0]?.target?.versions).toEqual([
      expect.objectContaining({ deploymentId: started.deploymentId, weight: 100 }),
    ]);

    const h = JSON.parse(await ok(['history', 'shop', '--env', 'prod', '-o', 'json'])) as History;
    const prod = h.environments[0];
    expect(prod?.current).toBe(3);
    expect(prod?.revisions[2]).toMatchObject({
      revision: 3,
      version: '1.0.0',
      deploymentId: started.deploymentId,
      rollbackOf: { revision: 1, deploymentId: first },
    });
  }, 60_000);

  it('--to names a revision; one that does not exist is refused with the range', async () => {
    const bad = await cli(['deploy', 'rollback', 'shop', '--env', 'prod', '--to', '9']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('no revision 9 in prod');
    const same = await cli(['deploy', 'rollback', 'shop', '--env', 'prod', '--to', '3']);
    expect(same.stderr).toContain('is what prod runs now');
    const to2 = JSON.parse(
      await ok(['deploy', 'rollback', 'shop', '--env', 'prod', '--to', '2', '-o', 'json']),
    );
    expect(to2).toMatchObject({ toRevision: 2, version: '1.0.1' });
    await ok(['deploy', 'cancel', to2.deploymentId]);
  }, 60_000);

  it('an unknown application is a 404 that names it', async () => {
    const r = await cli(['history', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('No deployments of application nope');
  });
});
