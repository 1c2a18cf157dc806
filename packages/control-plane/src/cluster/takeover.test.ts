import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeTestControlPlanes, startTestReplicas } from '../../../../test/kit/control-plane.js';
import { webhookYaml } from '../../../../test/kit/deploy-file.js';
import { until } from '../../../../test/kit/until.js';

/**
 * A replica that takes a deployment over also takes over its webhook runs: here the first
 * driver goes away while a run waits for a callback that never comes, and the second must fail
 * the run at its stored deadline (a timer only the dead replica had).
 */
let receiver: Server | undefined;

afterEach(async () => {
  await closeTestControlPlanes();
  receiver?.close();
});

describe('lease takeover', () => {
  it("adopts the dead driver's webhook runs: their deadline still fails them", async () => {
    const calls: string[] = [];
    receiver = createServer((req, res) => {
      calls.push(req.url ?? '');
      req.resume();
      // Answered a little late, as a real CI would, and never called back.
      setTimeout(() => res.writeHead(202).end(), 100);
    });
    await new Promise<void>((r) => receiver?.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;

    const [first, second] = await startTestReplicas(['replica-a', 'replica-b'], {
      apiToken: 'takeover-token-0123456789',
      leaseMs: 1000,
      callbackTimeoutMs: 3000,
      directAllow: ['127.0.0.1/32'],
    });
    const a = first!.cp;
    const b = second!.cp;

    const deployFile = `
application: takeover
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  dev:
    account: dev
    constraints:
      beforeDeployment:
        - runWebhook:
            name: hold
webhooks:
${webhookYaml({ name: 'hold', uri: `http://127.0.0.1:${port}/hold`, networkMode: 'direct' })}`;
    const res = await a.app.inject({
      method: 'POST',
      url: '/api/v1/deployments',
      headers: { authorization: 'Bearer takeover-token-0123456789', 'content-type': 'application/json' },
      payload: { deployFile },
    });
    expect(res.statusCode).toBe(202);
    const { deploymentId } = res.json() as { deploymentId: string };
    await until(async () => (calls.length === 1 ? true : undefined), 'the webhook call', 15_000);
    // Only a call whose answer the driver recorded is known to be made: one still \`pending\` when
    // its driver dies is made again by whoever adopts it (at least once), so wait for the record.
    await until(
      async () => {
        const [run] = await a.webhooks.listForDeployment(deploymentId);
        return run?.status === 'awaiting_callback' ? true : undefined;
      },
      'the first driver to record the call as made',
      15_000,
    );

    // The driver goes away (its timers with it); the other replica must take over.
    await first!.stop();

    const done = await until(
      async () => {
        const d = await b.engine.get(deploymentId);
        return d && ['FAILED', 'SUCCEEDED', 'CANCELLED', 'ROLLED_BACK'].includes(d.status) ? d : undefined;
      },
      'the deployment to end on the surviving replica',
      15_000,
    );
    expect(done.status).toBe('FAILED');
    const runs = await b.webhooks.listForDeployment(deploymentId);
    expect(runs[0]?.status).toBe('failed');
    expect(runs[0]?.reason).toMatch(/no callback within/);
    expect(calls).toHaveLength(1); // taken over, not called again
  });
});
