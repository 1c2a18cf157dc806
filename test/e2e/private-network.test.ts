import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ControlPlane, createControlPlane } from '@borealis/control-plane';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateNetwork, type PrivateNetwork } from './support/netns.js';
import { bins, type Proc, repoRoot, startProcess, stopAll, until } from './support/processes.js';

/**
 * The agent's reason to exist, for real: a web server on an address that exists only inside a
 * network namespace, the agent inside that namespace, the control plane outside. Calls reach the
 * server only through the agent.
 */
let net: PrivateNetwork;
let cp: ControlPlane;
let dataDir: string;
let web: Proc;
let webUrl: string;
let agentEnv: Record<string, string>;

beforeAll(async () => {
  net = createPrivateNetwork();
  dataDir = mkdtempSync(join(tmpdir(), 'brl-e2e-'));
  cp = await createControlPlane({
    host: net.hostAddress,
    port: 0,
    dataDir,
    apiToken: 'e2e-token-0123456789',
    heartbeatIntervalMs: 500,
    logger: pino({ level: 'silent' }),
  });
  await cp.listen();
  const cred = await cp.store.agentCredentials.create({ name: 'e2e', allowedIdentifiers: ['private-rna'] });
  web = startProcess(`${repoRoot}test/e2e/support/web-server.mjs`, {
    netns: net.name,
    args: [net.privateAddress],
  });
  const { port } = await web.waitForLog('listening');
  webUrl = `http://${net.privateAddress}:${port as number}`;
  agentEnv = {
    BOREALIS_CONTROL_PLANE_URL: cp.url,
    BOREALIS_AGENT_IDENTIFIER: 'private-rna',
    BOREALIS_CLIENT_ID: cred.clientId,
    BOREALIS_CLIENT_SECRET: cred.clientSecret,
    BOREALIS_ALLOW: `${net.privateAddress}/32`,
    BOREALIS_AGENT_HEALTH_PORT: '0',
    BOREALIS_RECONNECT_BASE: '100ms',
    BOREALIS_RECONNECT_MAX: '1s',
  };
}, 60_000);

afterAll(async () => {
  await stopAll();
  await cp?.close();
  net?.destroy();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function body(res: { body: AsyncIterable<Uint8Array> }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

describe('Remote Network Agent in a private network', () => {
  let agent: Proc;

  it('reaches a server the control plane cannot reach, with status, headers and body intact', async () => {
    agent = startProcess(bins.agent, { env: agentEnv, netns: net.name });
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
