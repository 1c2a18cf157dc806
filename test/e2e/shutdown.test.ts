import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HookServer, startHookServer, webhook } from './engine/support.js';
import { freePort, type ServerProc, startServer, TEST_TOKEN } from './support/control-plane.js';
import { bins, startProcess, stopAll, until } from './support/processes.js';

/**
 * SIGTERM with a `deploy start --watch` attached: the control plane drains and exits within its
 * grace period; the watch says the server is going away, waits, re-attaches when it is back, and
 * reports the deployment's real outcome.
 */
let hooks: HookServer;
let dir: string;

beforeAll(async () => {
  hooks = await startHookServer();
  dir = mkdtempSync(join(tmpdir(), 'brl-shutdown-'));
});
afterAll(async () => {
  await stopAll();
  await hooks?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('stopping the control plane', () => {
  it('SIGTERM with a watch attached: exits within the grace period; the watch re-attaches and reports SUCCEEDED', async () => {
    const port = await freePort();
    const dataDir = join(dir, 'data');
    const env = {
      BOREALIS_PORT: String(port),
      BOREALIS_SHUTDOWN_GRACE: '5s',
      BOREALIS_DIRECT_ALLOW: '127.0.0.1/32',
    };
    let server: ServerProc = await startServer(env, dataDir);
    const file = join(dir, 'deploy.yml');
    writeFileSync(
      file,
      `application: drain-app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  prod:
    constraints:
      afterDeployment:
        - runWebhook:
            name: Slow-Check
webhooks:
${webhook('Slow-Check', hooks.url, 'hold')}`,
    );
    const watch = startProcess(bins.cli, {
      args: ['deploy', 'start', '-f', file, '--watch'],
      env: { BOREALIS_URL: server.url, BOREALIS_API_TOKEN: TEST_TOKEN, HOME: dir },
    });
    // The webhook was called and its callback is awaited: the deployment is mid-flight.
    await until(() => hooks.held.get('Slow-Check')?.length, 'the webhook call', 20_000);
    await until(() => watch.lines.some((l) => l.raw.includes('Slow-Check: calling')), 'the watch line');

    server.proc.kill('SIGTERM');
    const exit = await server.proc.exited;
    // Exited by itself (0), not by the grace-period fallback (1) nor by a SIGKILL.
    expect(exit, server.proc.output().slice(-3000)).toEqual({ code: 0, signal: null });
    expect(server.proc.countLogs('shutting down')).toBe(1);
    expect(server.proc.countLogs('stopped')).toBe(1);

    await until(() => watch.lines.some((l) => l.raw.includes('is shutting down')), 'the shutdown line');
    // The watch did not give up on a deployment that has not failed.
    expect(watch.child.exitCode, watch.output()).toBe(null);

    server = await startServer(env, dataDir);
    await until(() => watch.lines.some((l) => l.raw.includes('re-attached')), 'the re-attach', 20_000);
    expect(await hooks.callBack('Slow-Check', true, 'checked')).toBe(200);

    const done = await watch.exited;
    const output = watch.output();
    if (process.env.SHOW) console.log(output);
    expect(done.code, output).toBe(0);
    expect(output).toMatch(/deployment \S+ SUCCEEDED/);
    expect(output).not.toMatch(/ended FAILED|gave up/);

    // SIGINT drains the same way.
    server.proc.kill('SIGINT');
    expect(await server.proc.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});
