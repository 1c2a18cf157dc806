import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ControlPlane } from '@borealis/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../kit/control-plane.js';
import { agentEnv, repoRoot, startProcess, stopAll } from './support/processes.js';

const run = promisify(execFile);

/**
 * No Docker engine runs here, so this builds the production install docker/agent.Dockerfile
 * makes (`pnpm deploy --prod` of the agent, outside the workspace) and starts the image's
 * command from it: proof that the agent runs without the workspace around it.
 */
let out: string;
let plane: TestControlPlane;
let cp: ControlPlane;

beforeAll(async () => {
  out = join(mkdtempSync(join(tmpdir(), 'brl-image-')), 'app');
  await run('pnpm', ['--filter', '@borealis/agent', 'deploy', '--prod', '--legacy', out], {
    cwd: repoRoot,
    env: { ...process.env, CI: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  plane = await startTestControlPlane({ apiToken: 'image-token-0123456789' });
  cp = plane.cp;
}, 180_000);

afterAll(async () => {
  await stopAll();
  await plane?.close();
  rmSync(join(out, '..'), { recursive: true, force: true });
});

describe('the agent image command, from a production install', () => {
  it('connects and answers its HEALTHCHECK', async () => {
    const cred = await cp.store.agentCredentials.create({ allowedIdentifiers: ['image-rna'] });
    // The image's CMD is `node bin/borealis-agent.js` in /app.
    const agent = startProcess(join(out, 'bin/borealis-agent.js'), {
      cwd: out,
      env: {
        NODE_ENV: 'production',
        ...agentEnv({ url: cp.url, identifier: 'image-rna', cred, allow: null }),
      },
    });
    const listening = await agent.waitForLog('listening');
    await agent.waitForLog('connected');
    expect(cp.hub.list().map((g) => g.agentIdentifier)).toContain('image-rna');
    const health = await fetch(`http://127.0.0.1:${listening.port as number}/healthz`);
    expect(health.status).toBe(200);
    await agent.stop();
    expect((await agent.exited).code).toBe(0);
  });
});
