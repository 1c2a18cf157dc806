import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createTestDatabase,
  type TestDatabase,
} from '../../packages/control-plane/src/store/test-stores.test-util.js';
import { type HookServer, startHookServer } from './engine/support.js';
import { freePort, type ServerProc, startConnectedAgent, startServer } from './support/control-plane.js';
import { type Proc, stopAll, until } from './support/processes.js';

/**
 * A replica that loses NATS says so in /readyz, and recovers by itself when NATS is back: its
 * subscriptions survive, so presence and forwarding work again. (Its own nats-server, so the
 * outage touches nobody else.)
 */
let db: TestDatabase;
let hooks: HookServer;
let natsPort: number;
let nats: ChildProcess | undefined;
const replicas: ServerProc[] = [];
let _agent: Proc;

function startNats(): ChildProcess {
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)], { stdio: 'ignore' });
  return child;
}

async function stopNats(): Promise<void> {
  if (!nats || nats.exitCode !== null) return;
  const exited = new Promise((r) => nats?.once('exit', r));
  nats.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  db = await createTestDatabase('postgres');
  hooks = await startHookServer();
  natsPort = await freePort();
  nats = startNats();
  await new Promise((r) => setTimeout(r, 300));
  const secretKey = randomBytes(32).toString('base64');
  for (const name of ['n1', 'n2']) {
    replicas.push(
      await startServer({
        BOREALIS_DATABASE_URL: db.databaseUrl,
        BOREALIS_NATS_URL: `nats://127.0.0.1:${natsPort}`,
        BOREALIS_SECRET_KEY: secretKey,
        BOREALIS_REPLICA_ID: name,
        BOREALIS_DIRECT_ALLOW: '127.0.0.1/32',
        BOREALIS_HEARTBEAT_INTERVAL: '2s',
      }),
    );
  }
  const [n1, n2] = replicas as [ServerProc, ServerProc];
  _agent = await startConnectedAgent(n1, 'recovery-rna', 'recovery');
  await until(
    async () => (await n2.api('GET', '/api/v1/agents')).json.agents.length === 1,
    'n2 to list the agent on n1',
  );
}, 60_000);

afterAll(async () => {
  await stopAll();
  await stopNats();
  for (const r of replicas) r.cleanup();
  await hooks?.close();
  await db?.dispose();
});

const probe = (r: ServerProc) =>
  r.api('POST', '/api/v1/agents/recovery-rna/probe', { method: 'GET', url: `${hooks.url}/probe` });

it('goes not ready when NATS is lost, naming it, and is ready and forwarding again when NATS returns', async () => {
  const [n1, n2] = replicas as [ServerProc, ServerProc];
  expect((await probe(n2)).json).toMatchObject({ status: 202, agent: { replicaId: 'n1' } });

  await stopNats();
  for (const r of [n1, n2]) {
    const down = await until(
      async () => {
        const res = await r.api('GET', '/readyz');
        return res.status === 503 ? res.json : undefined;
      },
      'readyz to report the lost NATS',
      15_000,
    );
    expect(down.failing).toEqual([expect.objectContaining({ dependency: 'nats' })]);
  }
  // The database is fine and still serves: a local dispatch works without the bus.
  expect((await probe(n1)).json).toMatchObject({ status: 202 });

  nats = startNats();
  for (const r of [n1, n2]) {
    await until(async () => (await r.api('GET', '/readyz')).status === 200, 'readyz to recover', 20_000);
  }
  // Subscriptions survived the reconnect: presence and forwarding work again.
  const again = await until(
    async () => {
      const res = await probe(n2);
      return res.status === 200 ? res.json : undefined;
    },
    'a forwarded probe to succeed again',
    20_000,
  );
  expect(again).toMatchObject({ status: 202, agent: { replicaId: 'n1' } });
}, 90_000);
