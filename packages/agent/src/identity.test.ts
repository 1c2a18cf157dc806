import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentFeatures, AgentHeaders, CloseCodes } from '@borealis/protocol';
import { describe, expect, it } from 'vitest';
import { agentBench, readAll, until } from './control-plane-double.test-util.js';

/**
 * The agent's side of issue 10: a revoked credential stops the dialling (no loop, a message that
 * says what to do), and request logs never hold a query string or what the control plane marked
 * as secret in the path.
 */
const bench = agentBench({
  identifier: 'test-agent',
  clientId: 'agent_client',
  allow: '127.0.0.1',
  reconnectBase: '10ms',
  reconnectMax: '50ms',
});

const controlPlane = bench.controlPlane;

const agent = bench.agent;

function readyz(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: '/readyz' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    })
      .on('error', reject)
      .end();
  });
}

/** Gives the dialler many of its (10–50 ms) backoff periods to make an attempt it should not. */
const severalBackoffs = () => new Promise((r) => setTimeout(r, 500));

describe('a revoked credential', () => {
  it('closed with the revoked code: the agent says so with the fix and never dials again', async () => {
    const cp = await controlPlane();
    const a = await agent(cp);
    await a.ready;
    const session = await cp.waitForSessions(1);
    session.tunnel.close(CloseCodes.credentialRevoked, 'agent credential agent_client revoked');
    await until(() => a.status().state === 'revoked');
    await severalBackoffs();
    expect(cp.upgrades).toHaveLength(1);
    expect(a.status().state).toBe('revoked');
    const line = a.lines.find((l) => String(l.msg).includes('was revoked by the control plane'));
    expect(line).toMatchObject({ level: 50, clientId: 'agent_client' });
    expect(String(line?.msg)).toContain(
      'borealis agent-credentials create --name NAME --identifier test-agent',
    );
    expect(String(line?.msg)).toContain('not dialling again');
    const ready = await readyz(a.healthPort);
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('credential revoked');
  });

  it('refused at the upgrade as revoked (a redial, or a start with a dead secret): one attempt, then idle', async () => {
    const cp = await controlPlane({
      refuse: () => ({
        status: 401,
        body: JSON.stringify({
          error: {
            code: 'BRL_ERR_AGENT_CREDENTIAL_REVOKED',
            message: 'Agent credential agent_client was revoked: create a new one',
          },
        }),
      }),
    });
    const a = await agent(cp);
    await expect(a.ready).rejects.toThrow(/credential revoked/);
    expect(a.status().state).toBe('revoked');
    await severalBackoffs();
    expect(cp.upgrades).toHaveLength(1);
    expect(a.lines.filter((l) => String(l.msg).includes('was revoked by the control plane'))).toHaveLength(1);
  });

  it('other closes still reconnect (the revoked code is what stops it)', async () => {
    const cp = await controlPlane();
    const a = await agent(cp);
    await a.ready;
    (await cp.waitForSessions(1)).tunnel.close(CloseCodes.goingAway, 'control plane shutting down');
    await cp.waitForSessions(2);
    expect(a.status().state).not.toBe('revoked');
  });
});

describe('request logs', () => {
  it('announce the log-url feature, and log the masked host and path the control plane sends, never a query', async () => {
    const target = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    bench.cleanup(() => new Promise((r) => target.close(r)));
    const port = (target.address() as AddressInfo).port;
    const cp = await controlPlane();
    const a = await agent(cp);
    await a.ready;
    const session = await cp.waitForSessions(1);
    expect(session.upgrade.headers[AgentHeaders.features]).toBe(AgentFeatures.logUrl);

    const withLogUrl = await session.request({
      url: `http://127.0.0.1:${port}/hook/TOPSECRET/x?token=QUERYSECRET`,
      logUrl: `http://127.0.0.1:${port}/hook/****/x`,
    });
    await readAll(withLogUrl.body);
    // An older control plane sends no logUrl: the path is logged as it is, the query never.
    const without = await session.request({ url: `http://127.0.0.1:${port}/plain/path?token=QUERYSECRET` });
    await readAll(without.body);
    // A logUrl that carries a query anyway: the query is not logged.
    const sloppy = await session.request({
      url: `http://127.0.0.1:${port}/a?token=QUERYSECRET`,
      logUrl: `http://127.0.0.1:${port}/a?token=QUERYSECRET`,
    });
    await readAll(sloppy.body);
    // A secret in the host (here, the host itself stands for one): masked in every line, even
    // the refusal reason, which names the destination.
    const refused = await session
      .request({ url: 'http://10.9.8.7:81/p', logUrl: 'http://****:81/p' })
      .catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: 'BRL_STREAM_DESTINATION_REFUSED' });
    await until(() => a.lines.filter((l) => l.msg === 'request done').length === 3);

    const done = a.lines.filter((l) => l.msg === 'request done').map((l) => [l.host, l.path]);
    expect(done).toEqual([
      [`127.0.0.1:${port}`, '/hook/****/x'],
      [`127.0.0.1:${port}`, '/plain/path'],
      [`127.0.0.1:${port}`, '/a'],
    ]);
    const refusal = a.lines.find((l) => l.msg === 'destination refused');
    expect(refusal).toMatchObject({ host: '****:81', path: '/p' });
    expect(JSON.stringify(a.lines)).not.toContain('10.9.8.7');
    const everything = JSON.stringify(a.lines);
    expect(everything).not.toContain('TOPSECRET');
    expect(everything).not.toContain('QUERYSECRET');
  });
});
