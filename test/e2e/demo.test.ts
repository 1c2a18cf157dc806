import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, startProcess, stopAll } from './support/processes.js';

/** The README's first command ends in `pnpm demo`: it must keep working, start to end. */
const dataDir = mkdtempSync(join(tmpdir(), 'brl-demo-'));
afterAll(async () => {
  await stopAll();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('pnpm demo', () => {
  it('runs the sample deployment through the agent to success', async () => {
    const demo = startProcess(`${repoRoot}scripts/demo.mjs`, {
      env: { BOREALIS_PORT: '0', BOREALIS_DATA_DIR: dataDir },
    });
    const { code } = await demo.exited;
    const out = demo.output();
    expect(out, out).toContain('agent demo-rna connected');
    expect(out).toMatch(/runWebhook integration-tests: calling \(agent demo-rna\)/);
    expect(out).toContain('42 integration tests passed');
    expect(out).toContain('the deployment succeeded');
    expect(code).toBe(0);
  }, 90_000);
});
