// `borealis deploy validate` must work without the server: it runs as a real child process with
// a preload that records every module it loads, and none of the server's parts may be among them.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const bin = here('../bin/borealis.js');
const recorder = here('../test/record-loads.mjs');
const controlPlane = new URL('../../control-plane/dist/index.js', import.meta.url).href;
const example = here('../../deploy-spec/test/fixtures/deployfiles/valid/09-full-reference.yaml');
const work = mkdtempSync(join(tmpdir(), 'borealis-loads-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The server's parts: its HTTP framework, its databases, its bus, and the package itself. */
const SERVER_PARTS = ['fastify', 'pg', 'nats', 'better-sqlite3', 'kysely', 'control-plane'];

/** Runs node with the recorder; returns the packages (node_modules names) and workspace packages it loaded. */
async function loadedBy(args: string[], name: string): Promise<{ packages: Set<string>; code: number }> {
  const file = join(work, `${name}.txt`);
  let code = 0;
  try {
    await run(process.execPath, ['--import', recorder, ...args], {
      env: { ...process.env, BOREALIS_LOADS_FILE: file, NO_COLOR: '1' },
    });
  } catch (err) {
    code = (err as { code?: number }).code ?? -1;
  }
  const packages = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const path = decodeURIComponent(line.replace(/^file:\/\//, ''));
    // The last node_modules/<name> (or @scope/name) in the path, else the workspace package.
    const dep = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    const workspace = /\/packages\/([^/]+)\/(?:dist|src|bin)\//.exec(path)?.[1];
    if (dep) packages.add(dep.replace(/^@borealis\//, ''));
    else if (workspace) packages.add(workspace);
  }
  return { packages, code };
}

describe('borealis deploy validate', () => {
  it('loads none of the server: no fastify, pg, nats, better-sqlite3 or @borealis/control-plane', async () => {
    const { packages, code } = await loadedBy([bin, 'deploy', 'validate', '-f', example], 'validate');
    expect(code).toBe(0);
    // The recorder saw the program: the CLI and the deploy-file package are there.
    expect(packages).toContain('cli');
    expect(packages).toContain('deploy-spec');
    expect(SERVER_PARTS.filter((p) => packages.has(p))).toEqual([]);
  });

  it('the recorder sees the server where it is loaded (the control plane package imported as a program would)', async () => {
    const { packages } = await loadedBy(
      ['--input-type=module', '-e', `await import(${JSON.stringify(controlPlane)})`],
      'server',
    );
    expect(packages).toContain('control-plane');
    expect(packages).toContain('fastify');
  });

  it('deploy plan, offline, loads none of the server either', async () => {
    const { packages } = await loadedBy([bin, 'deploy', 'plan', '-f', example], 'plan');
    expect(packages).toContain('deploy-spec');
    expect(SERVER_PARTS.filter((p) => packages.has(p))).toEqual([]);
  });
});
