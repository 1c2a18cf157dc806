import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { connect } from 'node:net';
import { type DeploymentSpec, parseDeployFile } from '@borealis/deploy-spec';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { connectTestAgent } from '../../../../test/kit/agent.js';
import { webhookYaml } from '../../../../test/kit/deploy-file.js';
import { freePort } from '../../../../test/kit/free-port.mjs';
import { until } from '../../../../test/kit/until.js';
import { isBorealisError } from '../errors.js';
import { type ControlPlane, createControlPlane } from '../server.js';
import { createTestDatabase, type TestDatabase } from '../store/test-stores.test-util.js';
import { createWebhookService } from '../webhooks/index.js';

/** The deploy file parsed as the API does before it starts a deployment. */
function specOf(deployFile: string): DeploymentSpec {
  const parsed = parseDeployFile(deployFile);
  if (!parsed.spec) throw new Error(JSON.stringify(parsed.diagnostics));
  return parsed.spec;
}

/**
 * A NATS restart under a forwarded call (found by `pnpm chaos`). NATS core delivers at most once:
 * frames of a forwarding link that were on the wire when the server died are gone, and the tunnel
 * cannot tell — the call waited for its whole timeout, or the link broke later with
 * BRL_PROTO_UNKNOWN_STREAM. A lost connection now ends every link at once: the call fails as
 * disconnected (which webhook runs retry) and the next one opens a fresh link. Two real replicas on
 * PostgreSQL and the test's own nats-server.
 */
let db: TestDatabase;
let natsPort: number;
let nats: ChildProcess | undefined;
let a: ControlPlane;
let b: ControlPlane;
const sockets: WebSocket[] = [];

async function stopNats(): Promise<void> {
  const exited = new Promise((r) => nats?.once('exit', r));
  nats?.kill('SIGKILL');
  await exited;
}

async function startNats(): Promise<void> {
  nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)], { stdio: 'ignore' });
  await until(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect(natsPort, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
  );
}

async function replica(name: string, secretKey: string): Promise<ControlPlane> {
  const cp = await createControlPlane({
    port: 0,
    databaseUrl: db.databaseUrl,
    dataDir: db.dir,
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    secretKey,
    apiToken: 'bus-interruption-token-0123456789',
    replicaId: name,
    heartbeatIntervalMs: 5_000,
    directAllow: ['127.0.0.1/32'],
    logger: pino({ level: 'silent' }),
  });
  await cp.listen();
  return cp;
}

/** An agent on `cp` that answers `/hold` never and anything else 200 at once. */
async function agent(cp: ControlPlane, identifier: string): Promise<void> {
  const { ws } = await connectTestAgent(cp, identifier, (stream, url) => {
    if (url.endsWith('/hold')) return;
    stream.respond(200, []);
    void stream.pipeFrom('fresh link').catch(() => undefined);
  });
  sockets.push(ws);
}

beforeAll(async () => {
  db = await createTestDatabase('postgres');
  natsPort = await freePort();
  await startNats();
  const key = randomBytes(32).toString('base64');
  a = await replica('bus-a', key);
  b = await replica('bus-b', key);
  await agent(a, 'rna-held');
  await until(() => b.hub.hasAgent('rna-held'));
}, 60_000);

afterAll(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await b?.close();
  await a?.close();
  nats?.kill('SIGKILL');
  await db?.dispose();
});

describe('a forwarded call when NATS restarts', () => {
  it('fails as disconnected (retryable) instead of waiting out its timeout, and the next call works', async () => {
    const held = b.hub.dispatch('rna-held', { method: 'GET', url: 'http://x/hold' }).catch((e: unknown) => e);
    await until(() => a.hub.streamsInFlight === 1);
    await stopNats();
    const err = await held;
    expect(isBorealisError(err, 'BRL_ERR_AGENT_DISCONNECTED')).toBe(true);
    expect((err as { retryable?: boolean }).retryable).toBe(true);
    // Ended by the interruption itself, not later by presence finding replica A silent.
    expect((err as Error).message).toContain('the cluster bus lost its connection');

    await startNats();
    await until(() => b.cluster.health().ok && a.cluster.health().ok);
    await until(() => a.hub.streamsInFlight === 0);
    await until(() => b.hub.hasAgent('rna-held'));
    const res = await b.hub.dispatch('rna-held', { method: 'GET', url: 'http://x/again' });
    let text = '';
    for await (const c of res.body) text += Buffer.from(c as Uint8Array).toString();
    expect(text).toBe('fresh link');
    expect(res.agent.replicaId).toBe('bus-a');
  }, 60_000);
});

describe('a callback settled while NATS was away', () => {
  it('moves the deployment on once the bus is back, though its wake-up never arrived', async () => {
    // A receiver that answers 202 and keeps the callback URI for the test.
    const uris: string[] = [];
    const receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        uris.push((JSON.parse(body) as { callbackUri: string }).callbackUri);
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const port = (receiver.address() as { port: number }).port;
      const { deploymentId } = await a.engine.start({
        createdBy: 'test',
        spec: specOf(`application: wake-app
targets:
  staging:
    namespace: wake
    constraints:
      beforeDeployment:
        - runWebhook:
            name: gate
manifests:
  - inline: |
      kind: Deployment
webhooks:
${webhookYaml({ name: 'gate', uri: `http://127.0.0.1:${port}/gate`, body: '{"callbackUri": "{{armory.callbackUri}}"}' })}`),
      });
      await until(() => uris.length === 1);
      await stopNats();
      // Settled in the store by a replica that never tells anyone: the wake-up is lost for sure.
      const silent = createWebhookService({
        store: b.store,
        dispatcher: b.hub,
        secrets: b.secrets,
        logger: pino({ level: 'silent' }),
        options: { callbackTimeoutMs: 60_000, directAllow: [], publicUrl: () => b.publicUrl },
      });
      const token = uris[0]!.split('/callbacks/')[1]!;
      await silent.acceptCallback(token, { success: true });
      await silent.close();
      expect((await a.engine.get(deploymentId))?.status).toBe('RUNNING');

      await startNats();
      await until(async () => (await a.engine.get(deploymentId))?.status === 'SUCCEEDED', 15_000);
    } finally {
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  }, 60_000);
});
