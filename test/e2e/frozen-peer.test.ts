import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProc, startServer } from './support/control-plane.js';
import { agentEnv, bins, type Proc, startProcess, stopAll, until } from './support/processes.js';

/**
 * A peer that freezes (SIGSTOP: no FIN, no RST, the socket stays open) is noticed by heartbeat
 * alone, with the default heartbeat settings on both ends. Asserted by what happens — the agent
 * leaves the list, its call in flight fails as disconnected, the agent logs the heartbeat
 * timeout — never by how long it took; the waits are generous bounds, and the defaults' own
 * bound (≤ 10 s) is checked where they are defined (protocol: log-url-and-heartbeat.test.ts).
 */
const IDENTIFIER = 'frozen-rna';
let server: ServerProc;
let agent: Proc;
let silent: Server;
let silentUrl: string;

async function listed(): Promise<Array<{ instanceId: string; streamsInFlight: number }>> {
  const { json } = await server.api<{
    agents: Array<{
      agentIdentifier: string;
      connections: Array<{ instanceId: string; streamsInFlight: number }>;
    }>;
  }>('GET', '/api/v1/agents');
  return json.agents.find((a) => a.agentIdentifier === IDENTIFIER)?.connections ?? [];
}

const tunnelFailures = (p: Proc, code: string) =>
  p.lines.filter((l) => l.json?.msg === 'tunnel failed' && l.json?.error === code).length;

beforeAll(async () => {
  // An empty value is the default (2 s): the support helper otherwise sets 500 ms.
  server = await startServer({ BOREALIS_HEARTBEAT_INTERVAL: '' });
  const { json: cred } = await server.api('POST', '/api/v1/agent-credentials', {
    name: 'frozen',
    allowedIdentifiers: [IDENTIFIER],
  });
  silent = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  agent = startProcess(bins.agent, {
    env: agentEnv({ url: server.url, identifier: IDENTIFIER, cred, reconnectMax: '1s' }),
  });
  const connected = await agent.waitForLog('connected');
  expect(connected.heartbeatMs).toBe(2000);
  await until(async () => (await listed()).length === 1, 'the agent listed');
}, 60_000);

afterAll(async () => {
  agent?.kill('SIGCONT');
  server?.proc.kill('SIGCONT');
  await stopAll();
  silent?.closeAllConnections();
  silent?.close();
  server?.cleanup();
});

describe('a frozen peer is noticed with the default heartbeat', () => {
  it('a SIGSTOPped agent: dropped from the list, its call in flight fails as disconnected', async () => {
    // The probe's own timeout is far beyond any heartbeat bound: only the heartbeat can end it.
    const probe = server.api('POST', `/api/v1/agents/${IDENTIFIER}/probe`, {
      url: `${silentUrl}/hang`,
      timeoutMs: 120_000,
    });
    await until(async () => (await listed())[0]?.streamsInFlight === 1, 'the call in flight');
    agent.child.kill('SIGSTOP');
    try {
      const answer = await probe;
      expect(answer.status).toBe(502);
      expect(answer.json.error.code).toBe('BRL_ERR_AGENT_DISCONNECTED');
      expect(await listed()).toEqual([]);
      const closed = server.proc.lines.find(
        (l) =>
          String(l.json?.msg ?? '').startsWith('closed the agent connection') &&
          l.json?.code === 'BRL_PROTO_HEARTBEAT_TIMEOUT',
      );
      expect(closed?.json).toMatchObject({ agentIdentifier: IDENTIFIER, closeCode: 4000 });
    } finally {
      agent.child.kill('SIGCONT');
    }
    await until(async () => (await listed()).length === 1, 'the agent back once it runs again', 30_000);
  }, 90_000);

  it('a SIGSTOPped control plane: the agent notices by heartbeat, says so, and reconnects once it is back', async () => {
    const before = tunnelFailures(agent, 'BRL_PROTO_HEARTBEAT_TIMEOUT');
    const connectedBefore = agent.countLogs('connected');
    const disconnectedBefore = agent.countLogs('disconnected');
    server.proc.child.kill('SIGSTOP');
    try {
      await until(
        () => tunnelFailures(agent, 'BRL_PROTO_HEARTBEAT_TIMEOUT') > before,
        'the agent to drop the silent control plane',
        60_000,
      );
      await until(
        () => agent.countLogs('disconnected') > disconnectedBefore,
        'the agent to log the disconnect',
      );
    } finally {
      server.proc.child.kill('SIGCONT');
    }
    await until(() => agent.countLogs('connected') > connectedBefore, 'the agent to reconnect', 60_000);
    await until(async () => (await listed()).length === 1, 'the agent listed again', 30_000);
  }, 120_000);
});
