import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type ServerProc, startServer, TEST_TOKEN } from './support/control-plane.js';
import { agentEnv, bins, type Proc, runCli, startProcess, stopAll, until } from './support/processes.js';

/** The control plane, the agent and the CLI as the real programs, each its own process. */
let server: ServerProc;
let port: number;
let creds: { clientId: string; clientSecret: string };

async function cli(...args: string[]): Promise<string> {
  const r = await runCli(args, { url: server.url, token: TEST_TOKEN });
  if (r.code !== 0) throw new Error(`borealis ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function listed(): Promise<
  Array<{ agentIdentifier: string; connections: Array<{ instanceId: string }> }>
> {
  return JSON.parse(await cli('agents', 'list', '-o', 'json')).agents;
}

function lifecycleEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...agentEnv({ url: server.url, identifier: 'lifecycle-rna', cred: creds, reconnectMax: '1s' }),
    ...extra,
  };
}

beforeAll(async () => {
  port = await freePort();
  server = await startServer({ BOREALIS_PORT: String(port) });
  creds = JSON.parse(
    await cli(
      'agent-credentials',
      'create',
      '--name',
      'lifecycle',
      '--identifier',
      'lifecycle-rna',
      '-o',
      'json',
    ),
  );
}, 60_000);

afterAll(async () => {
  await stopAll();
  server?.cleanup();
});

describe('agent lifecycle against the real control plane', () => {
  let agent: Proc;

  it('is listed as soon as it connects, and `borealis agents list` prints it', async () => {
    agent = startProcess(bins.agent, { env: lifecycleEnv() });
    const connected = await agent.waitForLog('connected');
    // The control plane registers a connection before it answers the upgrade, so by the time the
    // agent says "connected" the list already has it; the poll only absorbs process scheduling.
    await until(
      async () => (await listed()).some((a) => a.agentIdentifier === 'lifecycle-rna'),
      'the agent in the list',
      1000,
    );
    const table = await cli('agents', 'list');
    expect(table).toMatch(/AGENT IDENTIFIER\s+INSTANCE/);
    expect(table).toContain('lifecycle-rna');
    expect(table).toContain(String(connected.instanceId).slice(0, 12));
  });

  it('reconnects by itself when the control plane restarts, and is listed again', async () => {
    const before = agent.countLogs('connected');
    await server.proc.stop();
    server = await startServer({ BOREALIS_PORT: String(port) }, server.dataDir);
    await until(() => agent.countLogs('connected') > before, 'the agent to reconnect', 15_000);
    await until(async () => (await listed()).length === 1, 'the agent listed again', 5000);
  });

  it('a dispatch to an identifier with no agent fails at once with a clear code', async () => {
    const { status, json } = await server.api('POST', '/api/v1/agents/nobody-here/probe', {
      url: 'http://127.0.0.1:9/',
    });
    expect(status).toBe(503);
    expect(json.error.code).toBe('BRL_ERR_AGENT_NOT_CONNECTED');
    expect(json.error.message).toContain('BOREALIS_AGENT_IDENTIFIER=nobody-here');
  });

  it('a frozen agent (no FIN, no heartbeats) is dropped by heartbeat timeout within seconds', async () => {
    agent.child.kill('SIGSTOP');
    try {
      await until(async () => (await listed()).length === 0, 'the silent agent to be dropped', 8000);
    } finally {
      agent.child.kill('SIGCONT');
    }
    await agent.waitForLog('connected', () => agent.countLogs('connected') >= 3, 15_000);
  });

  it('is dropped within seconds of kill -9', async () => {
    await until(async () => (await listed()).length === 1, 'the agent back in the list', 10_000);
    agent.kill('SIGKILL');
    await until(async () => (await listed()).length === 0, 'the dead agent to be dropped', 5000);
  });

  it('wrong credentials: refused with 401 and a reason, logged by the agent, with back-off (no tight loop)', async () => {
    const refusals = () =>
      server.proc.lines.filter((l) => String(l.json?.msg ?? '').startsWith('refused an agent connection'))
        .length;
    const bad = startProcess(bins.agent, { env: lifecycleEnv({ BOREALIS_CLIENT_SECRET: 'not-the-secret' }) });
    await until(() => refusals() >= 1, 'the first refusal', 10_000);
    const first = refusals();
    await new Promise((r) => setTimeout(r, 3000));
    const text = bad.output();
    expect(text).toContain('401');
    expect(text).toContain('BRL_ERR_AGENT_AUTH');
    // With BOREALIS_RECONNECT_MAX=1s a refused credential waits at least 1 s between tries:
    // over 3 s that is at most 4 more attempts, where a tight loop would make hundreds.
    expect(refusals() - first).toBeLessThanOrEqual(4);
    expect((await listed()).length).toBe(0);
    await bad.stop();
  });
});
