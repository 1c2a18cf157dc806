import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProc, startServer } from './support/control-plane.js';
import { bins, repoRoot, stopAll } from './support/processes.js';

/**
 * The CLI as a person uses it away from the repository: run from another folder, finding the
 * control plane and its token through flags, the environment or a config file's context.
 */
let server: ServerProc;
let work: string;
let tokenFile: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  script: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [script, ...args],
      { env: { PATH: process.env.PATH ?? '', ...options.env }, cwd: options.cwd ?? work },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

/** The CLI from `work` (not the repository), with its own config file and nothing else. */
function cli(args: string[], env: Record<string, string> = {}, cwd = work): Promise<Run> {
  return run(bins.cli, args, { env: { HOME: work, XDG_CONFIG_HOME: join(work, 'xdg'), ...env }, cwd });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'brl-cli-cfg-'));
  // A generated token (no BOREALIS_API_TOKEN): the CLI must find it through its configuration.
  server = await startServer({ BOREALIS_API_TOKEN: '' }, join(work, 'server-data'));
  tokenFile = join(server.dataDir, 'api-token');
  expect(existsSync(tokenFile)).toBe(true);
});
afterAll(async () => {
  await stopAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('CLI configuration', () => {
  it('works from another folder with a context from `config set-context`, stored 0600 under XDG_CONFIG_HOME', async () => {
    const before = await cli(['config', 'show', '-o', 'json']);
    expect(JSON.parse(before.stdout)).toMatchObject({
      url: 'http://127.0.0.1:8080',
      urlFrom: 'the default',
      tokenFrom: 'none',
    });

    const set = await cli(['config', 'set-context', 'local', '--url', server.url, '--token-file', tokenFile]);
    expect(set.code, set.stderr).toBe(0);
    const file = join(work, 'xdg', 'borealis', 'config');
    expect(set.stdout).toContain(`Context local saved in ${file} (current)`);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const listed = await cli(['secrets', 'list', '-o', 'json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ secrets: [] });

    const contexts = await cli(['config', 'get-contexts']);
    expect(contexts.stdout).toMatch(
      new RegExp(`\\*\\s+local\\s+${server.url.replace(/\./g, '\\.')}\\s+file ${tokenFile}`),
    );
    // The token itself is never printed.
    expect(contexts.stdout).not.toContain(readFileSync(tokenFile, 'utf8').trim());
  });

  it('switches contexts with use-context, and BOREALIS_CONFIG names another file', async () => {
    const other = join(work, 'other-config');
    const env = { BOREALIS_CONFIG: other };
    expect(
      (await cli(['config', 'set-context', 'a', '--url', 'http://127.0.0.1:1', '--token', 'x'], env)).code,
    ).toBe(0);
    expect(
      (await cli(['config', 'set-context', 'b', '--url', server.url, '--token-file', tokenFile], env)).code,
    ).toBe(0);
    const onA = await cli(['agents', 'list'], env);
    expect(onA.code).toBe(1);
    expect(onA.stderr).toContain(`http://127.0.0.1:1 (from context a in ${other})`);
    const use = await cli(['config', 'use-context', 'b'], env);
    expect(use.stdout).toContain('Current context: b');
    const onB = await cli(['agents', 'list', '-o', 'yaml'], env);
    expect(onB.code, onB.stderr).toBe(0);
    expect(onB.stdout.trim()).toBe('agents: []');
    const missing = await cli(['config', 'use-context', 'nope'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('known: a, b');
  });

  it('precedence: flags over environment over context over defaults', async () => {
    const show = async (args: string[], env: Record<string, string> = {}) => {
      const r = await cli([...args, 'config', 'show', '-o', 'json'], env);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { url: string; urlFrom: string; tokenFrom: string };
    };
    // The context from the first test is current.
    expect(await show([])).toMatchObject({ url: server.url, tokenFrom: tokenFile });
    expect(await show([], { BOREALIS_URL: 'http://env.example:1', BOREALIS_API_TOKEN: 't' })).toMatchObject({
      url: 'http://env.example:1',
      urlFrom: 'BOREALIS_URL',
      tokenFrom: 'BOREALIS_API_TOKEN',
    });
    expect(
      await show(['--url', 'http://flag.example:2', '--token', 'f'], {
        BOREALIS_URL: 'http://env.example:1',
        BOREALIS_API_TOKEN: 't',
      }),
    ).toMatchObject({ url: 'http://flag.example:2', urlFrom: '--url', tokenFrom: '--token' });
    // BOREALIS_PORT alone is enough for a local server.
    expect(await show([], { BOREALIS_PORT: '9999' })).toMatchObject({
      url: 'http://127.0.0.1:9999',
      urlFrom: 'BOREALIS_PORT',
    });
  });

  it('BOREALIS_PORT alone reaches a server on another port; the token file is found above the current folder', async () => {
    const port = new URL(server.url).port;
    const deep = join(work, 'server-project', 'sub', 'dir');
    mkdirSync(deep, { recursive: true });
    // No context (an empty config), a server started in work/server-project would have its
    // token in work/server-project/.borealis: the CLI looks there from any folder inside.
    const project = join(work, 'server-project', '.borealis');
    mkdirSync(project, { recursive: true });
    const { copyFileSync } = await import('node:fs');
    copyFileSync(tokenFile, join(project, 'api-token'));
    const r = await cli(
      ['secrets', 'list', '-o', 'json'],
      { BOREALIS_PORT: port, BOREALIS_CONFIG: join(work, 'none') },
      deep,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ secrets: [] });
  });

  it('a 401 says where the token came from and how to give another', async () => {
    const r = await cli(['secrets', 'list'], {
      BOREALIS_URL: server.url,
      BOREALIS_CONFIG: join(work, 'none'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/401 BRL_ERR_UNAUTHORIZED/);
    expect(r.stderr).toMatch(
      /found no token: pass --token, set BOREALIS_API_TOKEN, or save one with `node \S+borealis\.js config set-context/,
    );
  });
});

describe('the programs', () => {
  it('--help on every CLI command lists the environment it reads', async () => {
    const root = await cli(['--help']);
    expect(root.stdout).toContain('--url <url>');
    expect(root.stdout).toContain('-o, --output <format>');
    const commandsOf = (help: string) =>
      [
        ...(help.split('Commands:')[1] ?? '').matchAll(
          /^ {2}([a-z][a-z-]*)(?: \[options\])?(?: <[^>]+>)*\s/gm,
        ),
      ]
        .map((m) => m[1] as string)
        .filter((c) => c !== 'help');
    const groups = commandsOf(root.stdout);
    expect(groups.length).toBeGreaterThanOrEqual(4);
    let checked = 0;
    // Each group's commands at once: one CLI start per command is slow on a busy machine.
    for (const group of groups) {
      const g = await cli([group, '--help']);
      const subs = commandsOf(g.stdout);
      const helps = await Promise.all(
        (subs.length ? subs.map((sub) => [group, sub]) : [[group]]).map(async (words) => ({
          words,
          h: await cli([...words, '--help']),
        })),
      );
      for (const { words, h } of helps) {
        const what = `${words.join(' ')} --help`;
        expect(h.code, what).toBe(0);
        expect(h.stdout, what).toMatch(/\nEnvironment/);
        if (!/Environment: none|BOREALIS_CONFIG\s+the config file \(default/.test(h.stdout))
          expect(h.stdout, what).toContain('BOREALIS_API_TOKEN');
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  }, 120_000);

  it('--version on all three programs; the server and the agent answer --help without starting', async () => {
    const version = JSON.parse(readFileSync(join(repoRoot, 'packages/cli/package.json'), 'utf8')).version;
    expect((await cli(['--version'])).stdout.trim()).toBe(`borealis ${version}`);
    const data = join(work, 'never-created');
    const env = { BOREALIS_DATA_DIR: data, BOREALIS_PORT: new URL(server.url).port };
    for (const [bin, name] of [
      [bins.server, 'borealis-server'],
      [bins.agent, 'borealis-agent'],
    ] as const) {
      const v = await run(bin, ['--version'], { env });
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout.trim()).toMatch(new RegExp(`^${name} \\d+\\.\\d+\\.\\d+$`));
      const h = await run(bin, ['--help'], { env });
      expect(h.code, h.stderr).toBe(0);
      expect(h.stdout).toContain(`Usage: ${name}`);
      expect(h.stdout).toContain('Environment:');
      expect(h.stderr).not.toContain('listening');
      const bad = await run(bin, ['--bogus'], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('unknown argument --bogus');
    }
    // The server started nothing: no data dir, and the port it would have taken is still the test server's.
    expect(existsSync(data)).toBe(false);
  });

  it('hints use the name the CLI was run by', async () => {
    const binDir = join(work, 'bin');
    mkdirSync(binDir, { recursive: true });
    symlinkSync(bins.cli, join(binDir, 'borealis'));
    const viaPath = await new Promise<Run>((resolve) => {
      const child = execFile(
        'borealis',
        ['secrets', 'set', 'github_token'],
        { env: { PATH: `${binDir}:${process.env.PATH ?? ''}`, HOME: work }, cwd: work },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
      child.stdin?.end('');
    });
    expect(viaPath.stderr).toContain('printf %s "$TOKEN" | borealis secrets set github_token');
    const viaPnpm = await cli(['secrets', 'set', 'x'], {
      npm_command: 'exec',
      npm_config_user_agent: 'pnpm/10.34.8 npm/? node/v20 linux x64',
    });
    expect(viaPnpm.stderr).toContain('| pnpm exec borealis secrets set x');
    const viaNode = await cli(['secrets', 'set', 'x']);
    expect(viaNode.stderr).toContain(`| node ${bins.cli} secrets set x`);
  });

  it('output to a closed pipe exits quietly (EPIPE)', async () => {
    const child = spawn(process.execPath, [bins.cli, 'init', '-f', '-'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader goes away before the CLI writes, as `| head -1` does after its line.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
