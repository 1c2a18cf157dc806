import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  type TestDatabase,
} from '../../packages/control-plane/src/store/test-stores.test-util.js';
import { deployFileHead, webhookYaml } from '../kit/deploy-file.js';
import { startTcpBalancer, type TcpBalancer } from '../kit/tcp-balancer.mjs';
import { type DeploymentJson, type HookServer, startHookServer } from './engine/support.js';
import { type ServerProc, startServer as startControlPlane, TEST_TOKEN } from './support/control-plane.js';
import { agentEnv, bins, type Proc, startProcess, stopAll, until } from './support/processes.js';

/**
 * Scale-out for real: three `borealis-server` processes on one fresh PostgreSQL database and the
 * NATS on 127.0.0.1:4222, agents dialling through a small TCP load balancer, replicas killed
 * with SIGKILL while deployments wait on webhooks.
 */
const NATS_URL = process.env.BOREALIS_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const LEASE = '3s';
const LEASE_MS = 3_000;
const IDENTIFIER = 'scale-rna';

let db: TestDatabase;
let hooks: HookServer;
let lb: TcpBalancer;
const secretKey = randomBytes(32).toString('base64');
const replicas = new Map<string, ServerProc>();
let agentA: Proc;
let agentB: Proc | undefined;
let agentAInstance = '';
let credential: { clientId: string; clientSecret: string };

async function startReplica(name: string): Promise<ServerProc> {
  const r = await startControlPlane({
    BOREALIS_DATABASE_URL: db.databaseUrl,
    BOREALIS_NATS_URL: NATS_URL,
    BOREALIS_SECRET_KEY: secretKey,
    BOREALIS_REPLICA_ID: name,
    BOREALIS_LEASE_TIME: LEASE,
    // 1,000 calls at once on two shared cores can starve a 500 ms heartbeat; 2 s still notices a
    // dead peer within 6 s.
    BOREALIS_HEARTBEAT_INTERVAL: '2s',
    BOREALIS_DIRECT_ALLOW: '127.0.0.1/32',
    BOREALIS_AGENT_MAX_STREAMS: '1024',
    BOREALIS_LOG_LEVEL: 'info',
  });
  replicas.set(name, r);
  return r;
}

function replica(name: string): ServerProc {
  const r = replicas.get(name);
  if (!r) throw new Error(`no replica ${name}`);
  return r;
}

const hostPort = (url: string) => url.replace(/^http:\/\//, '');

async function kill(name: string): Promise<void> {
  const r = replica(name);
  r.proc.kill('SIGKILL');
  await r.proc.exited;
  replicas.delete(name);
  r.cleanup();
}

function startAgent(url: string): Proc {
  return startProcess(bins.agent, {
    env: {
      ...agentEnv({ url: url, identifier: IDENTIFIER, cred: credential }),
      BOREALIS_AGENT_MAX_STREAMS: '1024',
      BOREALIS_RECONNECT_BASE: '100ms',
      BOREALIS_RECONNECT_MAX: '1s',
    },
  });
}

/** The agents list of one replica: connections of our identifier. */
async function connections(name: string): Promise<Array<{ replicaId: string; instanceId: string }>> {
  const { json } = await replica(name).api<{
    agents: Array<{ agentIdentifier: string; connections: Array<{ replicaId: string; instanceId: string }> }>;
  }>('GET', '/api/v1/agents');
  return json.agents.find((a) => a.agentIdentifier === IDENTIFIER)?.connections ?? [];
}

/** Which replicas hold our agents, per one replica's list. */
async function listed(name: string): Promise<string[]> {
  return (await connections(name)).map((c) => c.replicaId).sort();
}

async function everyReplicaLists(expected: string[], what: string, timeoutMs = 10_000): Promise<void> {
  const want = [...expected].sort();
  await until(
    async () => {
      for (const name of replicas.keys()) {
        if (JSON.stringify(await listed(name)) !== JSON.stringify(want)) return false;
      }
      return true;
    },
    what,
    timeoutMs,
  );
}

function deployFile(application: string, hook: string): string {
  return `${deployFileHead(application, { target: 'dev' })}        - runWebhook:
            name: ${hook}
webhooks:
${webhookYaml({ name: hook, uri: `${hooks.url}/hold/${hook}`, networkMode: 'remoteNetworkAgent', agentIdentifier: IDENTIFIER })}`;
}

async function startDeployment(via: string, yaml: string): Promise<string> {
  const res = await fetch(`${replica(via).url}/api/v1/deployments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/yaml' },
    body: yaml,
  });
  const json = (await res.json()) as { deploymentId: string };
  expect(res.status).toBe(202);
  return json.deploymentId;
}

/** Posts the held callback of `hook` to replica `via` (whatever replica built the URI). */
async function callBackVia(via: string, hook: string): Promise<number> {
  const uri = await until(() => hooks.held.get(hook)?.shift(), `the webhook ${hook} to be called`, 15_000);
  const path = new URL(uri).pathname;
  const res = await fetch(`${replica(via).url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ success: true, mdMessage: 'done' }),
  });
  await res.text();
  return res.status;
}

async function waitForStatus(id: string, status: string, timeoutMs = 15_000): Promise<DeploymentJson> {
  return until(
    async () => {
      for (const name of replicas.keys()) {
        const { json } = await replica(name).api<DeploymentJson>('GET', `/api/v1/deployments/${id}`);
        return json.status === status ? json : undefined;
      }
      return undefined;
    },
    `deployment ${id} to be ${status}`,
    timeoutMs,
  );
}

beforeAll(async () => {
  db = await createTestDatabase('postgres');
  hooks = await startHookServer();
  await startReplica('r1');
  await Promise.all([startReplica('r2'), startReplica('r3')]);
  const { json } = await replica('r2').api('POST', '/api/v1/agent-credentials', {
    name: 'scale-out',
    allowedIdentifiers: [IDENTIFIER],
  });
  credential = json;
  // The balancer sends the agent to replica 1 first; later it knows every replica.
  lb = await startTcpBalancer([hostPort(replica('r1').url)]);
  agentA = startAgent(lb.url);
  await agentA.waitForLog('connected');
  agentAInstance = (await until(async () => (await connections('r1'))[0], 'the agent on r1')).instanceId;
  lb.setBackends([...replicas.values()].map((r) => hostPort(r.url)));
}, 60_000);

afterAll(async () => {
  await stopAll();
  for (const r of replicas.values()) r.cleanup();
  await lb?.close();
  await hooks?.close();
  await db?.dispose();
});

describe('three replicas on PostgreSQL and NATS', () => {
  it('lists the agent on every replica, with the replica that holds it', async () => {
    await everyReplicaLists(['r1'], 'every replica to list the agent on r1');
    const ready = await replica('r3').api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ status: 'ready', database: 'postgres', bus: 'nats', replicaId: 'r3' });
  });

  it('1: agent on replica 1, deployment started through replica 2, callback to replica 3', async () => {
    const id = await startDeployment('r2', deployFile('scale-one', 'hook-one'));
    expect(await callBackVia('r3', 'hook-one')).toBe(200);
    const done = await waitForStatus(id, 'SUCCEEDED');
    const run = done.environments[0]?.webhookRuns[0];
    expect(run).toMatchObject({ status: 'succeeded', mdMessage: 'done' });
    // The call went through the agent (the hook server saw it) and was carried by replica 1's agent.
    expect(hooks.calls.some((c) => c.path === '/hold/hook-one')).toBe(true);
    const call = replica('r2').proc.lines.find((l) => l.json?.msg === 'webhook call made');
    expect(call?.json).toMatchObject({ agent: agentAInstance, status: 202 });
  });

  it('2: the driving replica is SIGKILLed; another resumes within the lease time and the late callback settles it', async () => {
    const id = await startDeployment('r3', deployFile('scale-two', 'hook-two'));
    const uri = await until(() => hooks.held.get('hook-two')?.[0], 'the webhook to be called', 15_000);
    expect(uri).toContain(hostPort(replica('r3').url));
    const killedAt = Date.now();
    await kill('r3');
    lb.setBackends([...replicas.values()].map((r) => hostPort(r.url)));
    expect(await callBackVia('r2', 'hook-two')).toBe(200);
    const done = await waitForStatus(id, 'SUCCEEDED', LEASE_MS + 10_000);
    const tookOver = [...replicas.values()].find((r) =>
      r.proc.lines.some(
        (l) => l.json?.msg === 'took over a deployment whose lease expired' && l.json.deploymentId === id,
      ),
    );
    expect(tookOver).toBeDefined();
    // Lease time, plus one look-around interval (a third of it), plus slack for a loaded machine.
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS + LEASE_MS / 3 + 5_000);
    expect(done.environments[0]?.webhookRuns).toHaveLength(1);
    await startReplica('r4');
    lb.setBackends([...replicas.values()].map((r) => hostPort(r.url)));
  });

  it("3: the agent's replica dies; the agent comes back through the balancer and webhooks reach it again", async () => {
    await kill('r1');
    lb.setBackends([...replicas.values()].map((r) => hostPort(r.url)));
    await until(() => agentA.countLogs('connected') >= 2, 'the agent to reconnect', 20_000);
    const holder = await until(
      async () => {
        const held = await listed('r2');
        return held.length === 1 && held[0] !== 'r1' ? held[0] : undefined;
      },
      'the agent to be listed on a surviving replica',
      20_000,
    );
    expect(['r2', 'r4']).toContain(holder);
    await everyReplicaLists([holder], 'the Agents list to converge on every replica', 10_000);
    const via = holder === 'r2' ? 'r4' : 'r2';
    const id = await startDeployment(via, deployFile('scale-three', 'hook-three'));
    expect(await callBackVia(holder, 'hook-three')).toBe(200);
    await waitForStatus(id, 'SUCCEEDED');
  });

  it('4: 1,000 concurrent dispatches over replicas and two agents of one identifier all succeed', async () => {
    await startReplica('r5');
    const holderOfA = (await listed('r2'))[0]!;
    agentB = startAgent(replica('r5').url);
    await agentB.waitForLog('connected');
    const names = [...replicas.keys()];
    await everyReplicaLists([holderOfA, 'r5'], 'both agents on every replica');
    const results = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const via = replica(names[i % names.length]!);
        const res = await via.api<{ status: number; agent: { instanceId: string; replicaId?: string } }>(
          'POST',
          `/api/v1/agents/${IDENTIFIER}/probe`,
          { method: 'POST', url: `${hooks.url}/probe/${i}`, body: `{"i": ${i}}` },
        );
        return { via: names[i % names.length], status: res.status, answer: res.json };
      }),
    );
    const failed = results.filter((r) => r.status !== 200 || r.answer.status !== 202);
    expect(failed.slice(0, 3)).toEqual([]);
    const byAgent = new Map<string, number>();
    for (const r of results)
      byAgent.set(r.answer.agent.instanceId, (byAgent.get(r.answer.agent.instanceId) ?? 0) + 1);
    expect(byAgent.size).toBe(2);
    expect(byAgent.get(agentAInstance)).toBeGreaterThan(0);
    expect(results.filter((r) => r.answer.agent.replicaId !== undefined).length).toBeGreaterThan(0);
  }, 60_000);
});
