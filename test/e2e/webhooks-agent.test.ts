import type { ControlPlane } from '@borealis/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../kit/control-plane.js';
import { createPrivateNetwork, type PrivateNetwork } from '../kit/netns.mjs';
import { agentEnv, bins, type Proc, repoRoot, startProcess, stopAll, until } from './support/processes.js';

/**
 * The product page's second example, for real: a receiver on an address that exists only inside a
 * network namespace, the agent (the built program) inside it, the control plane outside. The
 * webhook uses networkMode: remoteNetworkAgent and passes the callback URI in a header; the
 * receiver answers 204 and calls back from inside the namespace.
 */
const TEST_TOKEN = 'bearer-value-that-must-stay-secret-42';
let net: PrivateNetwork;
let plane: TestControlPlane;
let cp: ControlPlane;
let receiver: Proc;
let agent: Proc;
let receiverUrl: string;

beforeAll(async () => {
  net = createPrivateNetwork();
  plane = await startTestControlPlane({
    // Where processes inside the namespace reach us: the agent dials it, the receiver calls back.
    host: net.hostAddress,
    apiToken: 'e2e-webhooks-token-0123456789',
    heartbeatIntervalMs: 500,
  });
  cp = plane.cp;
  await cp.secrets.put('test_token', TEST_TOKEN);
  const cred = await cp.store.agentCredentials.create({
    name: 'e2e-webhooks',
    allowedIdentifiers: ['test-rna'],
  });
  receiver = startProcess(`${repoRoot}test/e2e/support/callback-receiver.mjs`, {
    netns: net.name,
    args: [net.privateAddress, '200'],
  });
  const { port } = await receiver.waitForLog('listening');
  receiverUrl = `http://${net.privateAddress}:${port as number}`;
  agent = startProcess(bins.agent, {
    netns: net.name,
    env: agentEnv({ url: cp.url, identifier: 'test-rna', cred, allow: `${net.privateAddress}/32` }),
  });
  await agent.waitForLog('connected');
  await until(() => cp.hub.connectionCount === 1, 'the agent to be listed');
}, 60_000);

afterAll(async () => {
  await stopAll();
  await plane?.close();
  net?.destroy();
});

function integrationTests(path: string) {
  return {
    name: 'integration-tests',
    method: 'POST' as const,
    uriTemplate: `${receiverUrl}${path}`,
    networkMode: 'remoteNetworkAgent' as const,
    agentIdentifier: 'test-rna',
    headers: [
      { key: 'Authorization', value: 'Bearer {{secrets.test_token}}' },
      { key: 'Location', value: '{{armory.callbackUri}}/callback' },
      { key: 'Content-Type', value: 'application/json' },
      { key: 'environment', value: '{{context.environment}}' },
    ],
    retryCount: 5,
    disableCallback: false,
  };
}

let n = 0;
function invocation(path: string) {
  n++;
  const deploymentId = `e2e-dep-${n}`;
  return {
    deploymentId,
    environment: 'staging',
    location: 'constraints.afterDeployment[0]',
    webhook: integrationTests(path),
    context: { environment: 'staging' },
    armory: {
      deploymentId,
      applicationName: 'my-app',
      environmentName: 'staging',
      accountName: 'staging-cluster',
      namespace: 'my-app',
      replicaSetName: 'my-app-1',
    },
  };
}

async function settled(runId: string) {
  return until(
    async () => {
      const run = await cp.webhooks.get(runId);
      return run && ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    },
    `webhook run ${runId} to settle`,
    20_000,
  );
}

describe('webhooks through the Remote Network Agent', () => {
  it('cannot reach the receiver directly (the premise)', async () => {
    await expect(
      fetch(`${receiverUrl}/tests/`, { method: 'POST', signal: AbortSignal.timeout(2000) }),
    ).rejects.toThrow();
  });

  it('calls the private receiver through the agent, gets its callback, and records which agent carried it', async () => {
    const run = await cp.webhooks.start(invocation('/tests/'));
    const done = await settled(run.id);
    expect(done.status).toBe('succeeded');
    expect(done.callback).toMatchObject({ success: true });

    const connection = cp.hub.list().find((g) => g.agentIdentifier === 'test-rna')?.connections[0];
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts[0]).toMatchObject({
      status: 204,
      agent: {
        agentIdentifier: 'test-rna',
        instanceId: connection?.instanceId,
        sessionId: connection?.sessionId,
      },
    });

    const called = await receiver.waitForLog('called', (j) => j.webhookId === done.callId);
    expect(called).toMatchObject({
      authorization: `Bearer ${TEST_TOKEN}`,
      environment: 'staging',
      hasCallbackUri: true,
    });
    await receiver.waitForLog('callback answered', (j) => j.status === 200);
    // The recorded request has the secret and the token masked.
    expect(done.request?.headers).toContainEqual(['Authorization', 'Bearer ****']);
    expect(done.request?.headers).toContainEqual(['Location', `${cp.publicUrl}/callbacks/****/callback`]);
    expect(JSON.stringify(done)).not.toContain(TEST_TOKEN);
  });

  it('settles as failed with the mdMessage when the receiver reports failure', async () => {
    const run = await cp.webhooks.start(invocation('/fail/'));
    const done = await settled(run.id);
    expect(done.status).toBe('failed');
    expect(done.callback).toMatchObject({
      success: false,
      mdMessage: '**2 of 40** integration tests failed',
    });
    expect(done.attempts[0]?.agent?.agentIdentifier).toBe('test-rna');
  });
});
