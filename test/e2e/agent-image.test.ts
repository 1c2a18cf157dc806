import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ControlPlane, createControlPlane } from '@borealis/control-plane';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startProcess, stopAll } from './support/processes.js';

const run = promisify(execFile);

/**
 * No Docker engine runs here, so this builds the production install docker/agent.Dockerfile
 * makes (`pnpm deploy --prod` of the agent, outside the workspace) and starts the image's
 * command from it: proof that the agent runs without the workspace around it.
 */
let out: string;
let dataDir: string;
let cp: ControlPlane;

beforeAll(async () => {
  out = join(mkdtempSync(join(tmpdir(), 'brl-image-')), 'app');
  dataDir = mkdtempSync(join(tmpdir(), 'brl-image-cp-'));
  await run('pnpm', ['--filter', '@borealis/agent', 'deploy', '--prod', '--legacy', out], {
    cwd: repoRoot,
    env: { ...process.env, CI: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  cp = await createControlPlane({
    port: 0,
    dataDir,
    apiToken: 'image-token-0123456789',
    logger: pino({ level: 'silent' }),
  });
  await cp.listen();
}, 180_000);

afterAll(async () => {
  await stopAll();
  await cp?.close();
  rmSync(dataDir, { recursive: true, force: true });
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
        BOREALIS_CONTROL_PLANE_URL: cp.url,
        BOREALIS_AGENT_IDENTIFIER: 'image-rna',
        BOREALIS_CLIENT_ID: cred.clientId,
        BOREALIS_CLIENT_SECRET: cred.clientSecret,
        BOREALIS_AGENT_HEALTH_PORT: '0',
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
