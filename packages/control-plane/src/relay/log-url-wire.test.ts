import {
  AGENT_CONNECT_PATH,
  AgentFeatures,
  AgentHeaders,
  decodeFrame,
  type RequestHead,
  SUBPROTOCOL,
  Tunnel,
} from '@borealis/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { closeTestControlPlanes, startTestControlPlane } from '../../../../test/kit/control-plane.js';
import { until } from '../../../../test/kit/until.js';
import { createInProcessNetwork } from '../cluster/index.js';
import type { ControlPlane } from '../server.js';

/**
 * The loggable URL is an optional OPEN field: agents that did not announce `log-url` (every
 * agent released before it) get the 6-field OPEN they decode; those that did get it, also when
 * the call is forwarded from another replica.
 */
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await closeTestControlPlanes();
});

async function plane(network?: ReturnType<typeof createInProcessNetwork>, replicaId?: string) {
  const started = await startTestControlPlane({
    heartbeatIntervalMs: 200,
    ...(network ? { clusterBus: network.join(), replicaId } : {}),
  });
  return started.cp;
}

/** An agent that records each OPEN as it came on the wire, and answers 204. */
async function agent(cp: ControlPlane, identifier: string, features?: string) {
  const cred = await cp.store.agentCredentials.create({ allowedIdentifiers: [identifier] });
  const ws = new WebSocket(cp.url.replace('http', 'ws') + AGENT_CONNECT_PATH, SUBPROTOCOL, {
    headers: {
      authorization: `Basic ${Buffer.from(`${cred.clientId}:${cred.clientSecret}`).toString('base64')}`,
      [AgentHeaders.identifier]: identifier,
      ...(features === undefined ? {} : { [AgentHeaders.features]: features }),
    },
  });
  sockets.push(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const opens: Array<{ wireLogUrl: string | undefined; head: RequestHead }> = [];
  const tunnel = new Tunnel({
    role: 'responder',
    sink: { send: (b, done) => ws.send(b, { binary: true }, done), close: (c, r) => ws.close(c, r) },
    onStream: (stream, head) => {
      opens.push({ wireLogUrl: undefined, head });
      stream.body.resume();
      stream.respond(204, []);
      stream.end();
    },
  });
  ws.on('message', (d: Buffer) => {
    const frame = decodeFrame(d);
    tunnel.receive(d);
    if (frame.type === 'open') {
      const last = opens[opens.length - 1];
      // Without logUrl the codec writes the 6-field OPEN agents released before it decode.
      if (last) last.wireLogUrl = frame.logUrl;
    }
  });
  return opens;
}

const call = { method: 'GET', url: 'http://t/hook/S3CRET?k=S3CRET', logUrl: 'http://t/hook/****' };

describe('the loggable URL on the wire', () => {
  it('goes only to agents that announced log-url; others get the 6-field OPEN', async () => {
    const cp = await plane();
    const old = await agent(cp, 'rna-old');
    const current = await agent(cp, 'rna-new', AgentFeatures.logUrl);
    const unknown = await agent(cp, 'rna-future', 'something-else');
    for (const id of ['rna-old', 'rna-new', 'rna-future']) {
      (await cp.hub.dispatch(id, call)).body.resume();
    }
    await until(() => old.length === 1 && current.length === 1 && unknown.length === 1);
    expect(old[0]?.wireLogUrl).toBeUndefined();
    expect(old[0]?.head).not.toHaveProperty('logUrl');
    expect(unknown[0]?.wireLogUrl).toBeUndefined();
    expect(current[0]?.wireLogUrl).toBe('http://t/hook/****');
    expect(current[0]?.head).toMatchObject({ logUrl: 'http://t/hook/****', url: call.url });
  });

  it('travels with a call forwarded from another replica', async () => {
    const network = createInProcessNetwork();
    const a = await plane(network, 'log-a');
    const b = await plane(network, 'log-b');
    const opens = await agent(a, 'rna-fwd', AgentFeatures.logUrl);
    await until(() => b.hub.list().some((g) => g.agentIdentifier === 'rna-fwd'));
    const res = await b.hub.dispatch('rna-fwd', call);
    res.body.resume();
    expect(res.agent.replicaId).toBe('log-a');
    await until(() => opens.length === 1);
    expect(opens[0]?.head.logUrl).toBe('http://t/hook/****');
    // The reserved forwarding header never reaches the agent (or the destination).
    expect(opens[0]?.head.headers.map(([k]) => k)).toEqual([]);
  });
});
