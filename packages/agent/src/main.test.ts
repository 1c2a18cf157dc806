import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type ControlPlaneDouble, startControlPlane, until } from './control-plane-double.test-util.js';
import { AGENT_BIN } from './index.js';

/** The built program (`tsc -b` first, as `pnpm test` does), spawned the way users run it. */
const built = existsSync(new URL('../dist/main.js', import.meta.url));

const children: ChildProcess[] = [];
const planes: ControlPlaneDouble[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const p of planes.splice(0)) await p.close();
});

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [AGENT_BIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (c: Buffer) => {
    out.stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out.stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

describe('borealis-agent program', () => {
  it('is built (run `pnpm exec tsc -b` first; `pnpm test` does)', () => {
    expect(built).toBe(true);
  });

  it('exits 2 with every configuration problem on stderr', async () => {
    const { out, exited } = run({ BOREALIS_CONTROL_PLANE_URL: 'ftp://x', BOREALIS_ALLOW: 'http://a' });
    expect(await exited).toBe(2);
    expect(out.stderr).toContain('BOREALIS_CONTROL_PLANE_URL (controlPlaneUrl) must be http:// or https://');
    expect(out.stderr).toContain('BOREALIS_AGENT_IDENTIFIER (identifier) is required');
    expect(out.stderr).toContain('BOREALIS_ALLOW (allow) has an invalid pattern "http://a"');
  });

  it('logs listening and connected, then drains on SIGTERM and exits 0', async () => {
    const cp = await startControlPlane();
    planes.push(cp);
    const { child, out, exited } = run({
      BOREALIS_CONTROL_PLANE_URL: cp.url,
      BOREALIS_AGENT_IDENTIFIER: 'spawned',
      BOREALIS_CLIENT_ID: 'id',
      BOREALIS_CLIENT_SECRET: 'secret',
      BOREALIS_ALLOW: '127.0.0.1',
      BOREALIS_AGENT_HEALTH_PORT: '0',
    });
    await until(() => out.stdout.includes('"msg":"connected"'), 15_000);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const listening = lines.find((l) => l.msg === 'listening');
    expect(listening?.port).toEqual(expect.any(Number));
    expect(listening?.port).not.toBe(0);
    expect(lines.find((l) => l.msg === 'connected')).toMatchObject({
      identifier: 'spawned',
      sessionId: cp.sessions[0]?.tunnel.sessionId,
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out.stdout).toContain('"msg":"drained"');
    expect(out.stdout).not.toContain('secret');
  });
});
