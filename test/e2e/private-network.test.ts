import { createHash } from 'node:crypto';
import type { ControlPlane } from '@borealis/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../kit/control-plane.js';
import { createPrivateNetwork, type PrivateNetwork } from '../kit/netns.mjs';
import { agentEnv, bins, type Proc, repoRoot, startProcess, stopAll, until } from './support/processes.js';

/**
 * The agent's reason to exist, for real: a web server on an address that exists only inside a
 * network namespace, the agent inside that namespace, the control plane outside. Calls reach the
 * server only through the agent.
 */
let net: PrivateNetwork;
let plane: TestControlPlane;
let cp: ControlPlane;
let web: Proc;
let webUrl: string;
let privateAgentEnv: Record<string, string>;

beforeAll(async () => {
  net = createPrivateNetwork();
  plane = await startTestControlPlane({
    host: net.hostAddress,
    apiToken: 'e2e-token-0123456789',
    heartbeatIntervalMs: 500,
  });
  cp = plane.cp;
  const cred = await cp.store.agentCredentials.create({ name: 'e2e', allowedIdentifiers: ['private-rna'] });
  web = startProcess(`${repoRoot}test/e2e/support/web-server.mjs`, {
    netns: net.name,
    args: [net.privateAddress],
  });
  const { port } = await web.waitForLog('listening');
  webUrl = `http://${net.privateAddress}:${port as number}`;
  privateAgentEnv = agentEnv({
    url: cp.url,
    identifier: 'private-rna',
    cred,
    allow: `${net.privateAddress}/32`,
    reconnectMax: '1s',
  });
}, 60_000);

afterAll(async () => {
  await stopAll();
  await plane?.close();
  net?.destroy();
});

async function body(res: { body: AsyncIterable<Uint8Array> }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

describe('Remote Network Agent in a private network', () => {
  let agent: Proc;

  it('reaches a server the control plane cannot reach, with status, headers and body intact', async () => {
    agent = startProcess(bins.agent, { env: privateAgentEnv, netns: net.name });
    await agent.waitForLog('connected');
    await until(() => cp.hub.connectionCount === 1, 'the agent to be listed');

    const res = await cp.hub.dispatch('private-rna', { method: 'GET', url: `${webUrl}/hello` });
    expect(res.status).toBe(200);
    expect(res.headers).toContainEqual(['x-private', 'yes']);
    expect((await body(res)).toString()).toBe('hello from the private network');

    // The same URL fetched directly from the control plane's namespace fails.
    await expect(fetch(`${webUrl}/hello`, { signal: AbortSignal.timeout(3000) })).rejects.toThrow();
  });

  it('carries bodies of several megabytes both ways byte-identical', async () => {
    const payload = Buffer.alloc(6 * 1024 * 1024 + 123);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
    const sent = createHash('sha256').update(payload).digest('hex');
    const echo = await cp.hub.dispatch('private-rna', {
      method: 'POST',
      url: `${webUrl}/echo`,
      body: payload,
    });
    expect(echo.status).toBe(200);
    expect(echo.headers.find(([k]) => k === 'x-body-sha256')?.[1]).toBe(sent);
    expect(
      createHash('sha256')
        .update(await body(echo))
        .digest('hex'),
    ).toBe(sent);

    const down = await cp.hub.dispatch('private-rna', {
      method: 'GET',
      url: `${webUrl}/bytes?n=${8 * 1024 * 1024}`,
    });
    const expected = down.headers.find(([k]) => k === 'x-body-sha256')?.[1];
    const got = await body(down);
    expect(got.length).toBe(8 * 1024 * 1024);
    expect(createHash('sha256').update(got).digest('hex')).toBe(expected);
  });

  it('refuses a destination outside its allow-list and sends nothing to it', async () => {
    const before = await cp.hub.dispatch('private-rna', { method: 'GET', url: `${webUrl}/count` });
    const seenBefore = JSON.parse((await body(before)).toString()).seen as number;
    // Same server, reached by another name: not in BOREALIS_ALLOW.
    const other = webUrl.replace(net.privateAddress, '127.0.0.1');
    await expect(
      cp.hub.dispatch('private-rna', { method: 'GET', url: `${other}/hello` }),
    ).rejects.toMatchObject({
      code: 'BRL_ERR_AGENT_REFUSED',
      details: { agentCode: 'BRL_STREAM_DESTINATION_REFUSED' },
    });
    const after = await cp.hub.dispatch('private-rna', { method: 'GET', url: `${webUrl}/count` });
    expect(JSON.parse((await body(after)).toString()).seen).toBe(seenBefore);
  });

  it('is dropped from the Agents list within seconds of kill -9', async () => {
    agent.kill('SIGKILL');
    await until(() => cp.hub.connectionCount === 0, 'the dead agent to be dropped', 5000);
    await expect(
      cp.hub.dispatch('private-rna', { method: 'GET', url: `${webUrl}/hello` }),
    ).rejects.toMatchObject({
      code: 'BRL_ERR_AGENT_NOT_CONNECTED',
    });
  });
});
