import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProc, startServer, TEST_TOKEN } from './support/control-plane.js';
import { bins, stopAll } from './support/processes.js';

/** Everyday commands, through the real CLI and server: list, prefixes, init, completion, secrets. */
let server: ServerProc;
let work: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[], env: Record<string, string> = {}, stdin = ''): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [script, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: work, ...env }, cwd: work },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

const cli = (args: string[], stdin = '') =>
  run(bins.cli, args, { BOREALIS_URL: server.url, BOREALIS_API_TOKEN: TEST_TOKEN }, stdin);

async function ok(args: string[], stdin = ''): Promise<string> {
  const r = await cli(args, stdin);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const tiny = (app: string) =>
  `application: ${app}\ntargets:\n  dev:\n    account: dev\nmanifests:\n  - inline: |\n      kind: ConfigMap\n      metadata:\n        name: ${app}\n`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'brl-cli-cmd-'));
  server = await startServer({}, join(work, 'data'));
});
afterAll(async () => {
  await stopAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('deploy list, start -o json and id prefixes', () => {
  const ids: string[] = [];

  it('deploy start -o json prints {deploymentId, status}', async () => {
    // 17 deployments: at least two share a first hex digit (pigeonhole), for the ambiguity check.
    const file = join(work, 'app-0.yml');
    writeFileSync(file, tiny('list-app-0'));
    const started = JSON.parse(await ok(['deploy', 'start', '-f', file, '-o', 'json'])) as {
      deploymentId: string;
      status: string;
    };
    expect(started.deploymentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof started.status).toBe('string');
    ids.push(started.deploymentId);
    // The rest through the API (quicker): 17 in all, so at least two share a first hex digit.
    for (let i = 1; i < 17; i++) {
      const r = await server.api('POST', '/api/v1/deployments', { deployFile: tiny(`list-app-${i}`) });
      expect(r.status).toBe(202);
      ids.push(r.json.deploymentId);
    }
  });

  it('deploy list filters by application, status, since and limit', async () => {
    const all = JSON.parse(await ok(['deploy', 'list', '-o', 'json', '--limit', '100']))
      .deployments as Array<{
      id: string;
      application: string;
      status: string;
    }>;
    expect(all.map((d) => d.id).sort()).toEqual([...ids].sort());
    const one = JSON.parse(await ok(['deploy', 'list', '-a', 'list-app-3', '-o', 'json'])).deployments;
    expect(one.map((d: { id: string }) => d.id)).toEqual([ids[3]]);
    expect(JSON.parse(await ok(['deploy', 'list', '-n', '5', '-o', 'json'])).deployments).toHaveLength(5);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(JSON.parse(await ok(['deploy', 'list', '--since', future, '-o', 'json'])).deployments).toEqual([]);
    expect(JSON.parse(await ok(['deploy', 'list', '--since', '1h', '-o', 'json'])).deployments).toHaveLength(
      17,
    );
    const byStatus = JSON.parse(await ok(['deploy', 'list', '-s', 'cancelled', '-o', 'json'])).deployments;
    expect(byStatus.every((d: { status: string }) => d.status === 'CANCELLED')).toBe(true);
    const bad = await cli(['deploy', 'list', '-s', 'bogus']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('status BOGUS is not a deployment status');
    const table = await ok(['deploy', 'list', '-a', 'list-app-3']);
    expect(table).toMatch(/^ID\s+APPLICATION\s+VERSION\s+STATUS/);
    expect(table).toContain((ids[3] as string).slice(0, 8));
  });

  it('a unique prefix works where an id is taken; an ambiguous one lists the matches', async () => {
    const id = ids[5] as string;
    const others = ids.filter((x) => x !== id);
    let n = 1;
    while (others.some((o) => o.startsWith(id.slice(0, n)))) n++;
    const status = JSON.parse(await ok(['deploy', 'status', id.slice(0, n), '-o', 'json']));
    expect(status.id).toBe(id);
    const watched = await cli(['deploy', 'watch', id.slice(0, n)]);
    expect(watched.stdout).toContain(id);

    const byFirst = new Map<string, string[]>();
    for (const x of ids) byFirst.set(x[0] as string, [...(byFirst.get(x[0] as string) ?? []), x]);
    const [digit, shared] = [...byFirst].find(([, v]) => v.length > 1) as [string, string[]];
    const amb = await cli(['deploy', 'status', digit]);
    expect(amb.code).toBe(2);
    expect(amb.stderr).toContain(`${digit} is ambiguous`);
    for (const x of shared) expect(amb.stderr).toContain(x);
    const none = await cli(['deploy', 'cancel', 'ffffffff-ffff']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('No deployment id starts with ffffffff-ffff');
  });
});

describe('secrets list and delete', () => {
  it('deletes a secret by name', async () => {
    await ok(['secrets', 'set', 'gone_soon'], 'value');
    expect(
      JSON.parse(await ok(['secrets', 'list', '-o', 'json'])).secrets.map((s: { name: string }) => s.name),
    ).toContain('gone_soon');
    expect(await ok(['secrets', 'delete', 'gone_soon'])).toContain('secret gone_soon deleted');
    expect(JSON.parse(await ok(['secrets', 'list', '-o', 'json'])).secrets).toEqual([]);
    const again = await cli(['secrets', 'delete', 'gone_soon']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('404');
  });
});

describe('init', () => {
  it('writes a starter file with a webhook and an approval that validates as written', async () => {
    expect((await ok(['init'])).split('\n')[0]).toBe('Wrote deploy.yml. Next:');
    const text = readFileSync(join(work, 'deploy.yml'), 'utf8');
    expect(text).toContain('runWebhook:');
    expect(text).toContain('untilApproved: true');
    expect(text).toContain('{{armory.callbackUri}}/callback');
    const valid = await ok(['deploy', 'validate', '-f', 'deploy.yml']);
    // Valid, and without a single warning.
    expect(valid.trim()).toBe('deploy.yml: valid');
    const again = await cli(['init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('deploy.yml exists');
    expect(await ok(['init', '-f', '-', '-a', 'shop'])).toContain('application: shop');
  });

  it('the starter file is accepted by the server as it is (its placeholder CI URL then fails the run)', async () => {
    const started = JSON.parse(await ok(['deploy', 'start', '-f', 'deploy.yml', '-o', 'json']));
    const view = JSON.parse(await ok(['deploy', 'status', started.deploymentId, '-o', 'json']));
    expect(view.application).toBe('my-app');
    expect(view.environments.map((e: { name: string }) => e.name).sort()).toEqual(['prod', 'staging']);
  });
});

describe('completion', () => {
  it('bash completes commands and subcommands from the command tree', async () => {
    const script = await ok(['completion', 'bash']);
    const complete = (words: string[]) => {
      const r = spawnSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _borealis; echo "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim().split(' ');
    };
    expect(complete(['borealis', 'dep'])).toEqual(['deploy']);
    expect(complete(['borealis', 'deploy', 'st'])).toEqual(['start', 'status']);
    // A global flag and its value before the command do not confuse it.
    expect(complete(['borealis', '-o', 'json', 'secrets', ''])).toEqual(
      expect.arrayContaining(['set', 'list', 'delete', '--url']),
    );
    expect(complete(['borealis', 'secrets', ''])).toEqual(expect.arrayContaining(['set', 'list', 'delete']));
    expect(complete(['borealis', 'deploy', 'list', '-o', ''])).toEqual(['table', 'json', 'yaml']);
  });

  it('zsh and fish scripts name every command group', async () => {
    for (const shell of ['zsh', 'fish']) {
      const script = await ok(['completion', shell]);
      for (const group of ['agents', 'deploy', 'secrets', 'config', 'init', 'completion'])
        expect(script, `${shell}: ${group}`).toContain(group);
    }
    const bad = await cli(['completion', 'tcsh']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('use bash, zsh or fish');
  });
});

describe('a second server', () => {
  it('on a busy port: one line naming BOREALIS_PORT', async () => {
    const r = await run(bins.server, [], {
      BOREALIS_PORT: new URL(server.url).port,
      BOREALIS_DATA_DIR: join(work, 'other-data'),
      BOREALIS_API_TOKEN: TEST_TOKEN,
    });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^borealis-server: BRL_ERR_CONFIG: 127\.0\.0\.1:\d+ is already in use .*BOREALIS_PORT/,
    );
  });

  it('on a data folder a running server uses: one line naming BOREALIS_DATA_DIR', async () => {
    const r = await run(bins.server, [], {
      BOREALIS_PORT: '0',
      BOREALIS_DATA_DIR: server.dataDir,
      BOREALIS_API_TOKEN: TEST_TOKEN,
    });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toContain(
      `The data folder ${server.dataDir} is in use by another borealis-server (pid ${server.proc.child.pid}`,
    );
    expect(lines[0]).toContain('BOREALIS_DATA_DIR');
  });
});
