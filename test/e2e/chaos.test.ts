import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { repoRoot } from './support/processes.js';

/**
 * `pnpm chaos --quick` in CI: three replicas on PostgreSQL and NATS, agents in a namespace, a
 * stream of deployments while agents and replicas are stopped and killed, the database link cut
 * and NATS restarted. Its last line is the verdict as JSON; every gate must have settled as the
 * receiver answered, with each kind of fault injected at least once.
 */
it('survives rolling restarts, crashes, a database cut and a NATS restart without losing a gate', async () => {
  const child = spawn(process.execPath, [`${repoRoot}scripts/chaos.mjs`, '--quick', '--json'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let verdict: Record<string, unknown>;
  try {
    verdict = JSON.parse(last) as Record<string, unknown>;
  } catch {
    throw new Error(`chaos printed no JSON verdict (exit ${code}):\n${stdout}\n${stderr.slice(-4000)}`);
  }
  const context = `${stdout}\n${stderr.slice(-3000)}`;
  expect(verdict, context).toMatchObject({
    wronglyFailed: 0,
    stuck: 0,
    lostCallbacks: 0,
    wronglySucceeded: 0,
    duplicateRuns: 0,
    crashes: 0,
    ok: true,
  });
  expect(verdict.deployments as number, context).toBeGreaterThanOrEqual(30);
  // Some gates answered success: false on purpose, and those deployments failed for it.
  expect((verdict.succeeded as number) + (verdict.failedAsExpected as number)).toBe(verdict.deployments);
  const faults = verdict.faults as Record<string, number>;
  for (const kind of [
    'agentSigterm',
    'agentSigkill',
    'replicaSigterm',
    'replicaSigkill',
    'dbCut',
    'natsRestart',
  ]) {
    expect(faults[kind], `${kind} injected`).toBeGreaterThanOrEqual(1);
  }
  expect(code, context).toBe(0);
}, 300_000);
