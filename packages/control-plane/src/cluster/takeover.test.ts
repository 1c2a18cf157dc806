import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookYaml } from '../../../../test/kit/deploy-file.js';
import { type ControlPlane, createControlPlane } from '../server.js';
import { createInProcessNetwork } from './in-process-bus.js';

/**
 * A replica that takes a deployment over also takes over its webhook runs: here the first
 * driver goes away while a run waits for a callback that never comes, and the second must fail
 * the run at its stored deadline (a timer only the dead replica had).
 */
const dirs: string[] = [];
const planes: ControlPlane[] = [];
let receiver: Server | undefined;

afterEach(async () => {
  for (const p of planes.splice(0)) await p.close().catch(() => undefined);
  receiver?.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function until<T>(fn: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('lease takeover', () => {
  it("adopts the dead driver's webhook runs: their deadline still fails them", async () => {
    const calls: string[] = [];
    receiver = createServer((req, res) => {
      calls.push(req.url ?? '');
      req.resume();
      res.writeHead(202).end(); // and never calls back
    });
    await new Promise<void>((r) => receiver?.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;

    const shared = mkdtempSync(join(tmpdir(), 'brl-takeover-'));
    dirs.push(shared);
    const network = createInProcessNetwork();
    const start = async (name: string) => {
      const dir = mkdtempSync(join(tmpdir(), `brl-takeover-${name}-`));
      dirs.push(dir);
      const cp = await createControlPlane({
        port: 0,
        dataDir: dir,
        databaseUrl: join(shared, 'borealis.db'),
        secretKey: Buffer.alloc(32, 7).toString('base64'),
        apiToken: 'takeover-token-0123456789',
        replicaId: name,
        clusterBus: network.join(),
        leaseMs: 1000,
        callbackTimeoutMs: 3000,
        directAllow: ['127.0.0.1/32'],
        logger: pino({ level: 'silent' }),
      });
      await cp.listen();
      planes.push(cp);
      return cp;
    };
    const a = await start('replica-a');
    const b = await start('replica-b');

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
    await until(async () => (calls.length === 1 ? true : undefined), 'the webhook call');

    // The driver goes away (its timers with it); the other replica must take over.
    await a.close();
    planes.splice(planes.indexOf(a), 1);

    const done = await until(async () => {
      const d = await b.engine.get(deploymentId);
      return d && ['FAILED', 'SUCCEEDED', 'CANCELLED', 'ROLLED_BACK'].includes(d.status) ? d : undefined;
    }, 'the deployment to end on the surviving replica');
    expect(done.status).toBe('FAILED');
    const runs = await b.webhooks.listForDeployment(deploymentId);
    expect(runs[0]?.status).toBe('failed');
    expect(runs[0]?.reason).toMatch(/no callback within/);
    expect(calls).toHaveLength(1); // taken over, not called again
  });
});
