import { startAgent } from '@borealis/agent';
import { compileOptions, optionsFromEnv } from '@borealis/control-plane';
import { afterEach, describe, expect, it } from 'vitest';
import { env, startPlane, type TestPlane } from './engine/support.js';

/**
 * BOREALIS_TARGET_DRIVER: which driver an environment gets, and that the status says why.
 * A real control plane and a real (in-process) agent without BOREALIS_KUBERNETES.
 */
const planes: TestPlane[] = [];
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  for (const p of planes.splice(0)) await p.close();
});

const file = (account?: string) => `application: choice
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]
targets:
  prod:
${account ? `    account: ${account}\n` : ''}    namespace: shop
`;

describe('target driver choice', () => {
  it('auto: an agent without BOREALIS_KUBERNETES gets the simulated driver, and the status says so', async () => {
    const p = await startPlane({ targetDriver: 'auto' });
    planes.push(p);
    const cred = await p.cp.store.agentCredentials.create({
      name: 'plain',
      allowedIdentifiers: ['plain-agent'],
    });
    const agent = await startAgent({
      controlPlaneUrl: p.cp.url,
      identifier: 'plain-agent',
      clientId: cred.clientId,
      clientSecret: cred.clientSecret,
      healthPort: 0,
      logLevel: 'silent',
    });
    stops.push(() => agent.stop());
    await agent.ready;
    const { json } = await p.api<{ deploymentId: string }>('POST', '/api/v1/deployments', {
      deployFile: file('plain-agent'),
    });
    const done = await p.waitForStatus(json.deploymentId, ['SUCCEEDED', 'FAILED', 'ROLLED_BACK']);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.driver).toBe('simulated');
    const target = env(done, 'prod').target as { driver: string; location?: string } | null;
    expect(target?.driver).toBe('simulated');
    expect(target?.location).toContain('agent plain-agent was not started with BOREALIS_KUBERNETES');
  });

  it('kubernetes: a target without an account fails closed, saying what to name', async () => {
    const p = await startPlane({ targetDriver: 'kubernetes' });
    planes.push(p);
    const { json } = await p.api<{ deploymentId: string }>('POST', '/api/v1/deployments', {
      deployFile: file(),
    });
    const done = await p.waitForStatus(json.deploymentId, ['SUCCEEDED', 'FAILED', 'ROLLED_BACK']);
    expect(done.status).not.toBe('SUCCEEDED');
    expect(done.driver).toBe('kubernetes');
    expect(env(done, 'prod').message).toContain(
      'environment prod has no account: name the agent that runs in its cluster',
    );
  });

  it('an unknown BOREALIS_TARGET_DRIVER stops the start with the values it takes', () => {
    expect(() => compileOptions(optionsFromEnv({ BOREALIS_TARGET_DRIVER: 'k8s' }))).toThrow(
      'BOREALIS_TARGET_DRIVER=k8s is not valid: expected auto (Kubernetes where the account is a Kubernetes agent), kubernetes, or simulated',
    );
  });
});
