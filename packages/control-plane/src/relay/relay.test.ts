import {
  AGENT_CONNECT_PATH,
  AgentHeaders,
  decodeFrame,
  encodeFrame,
  SUBPROTOCOL,
  Tunnel,
} from '@borealis/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { basicAuth, type Dialled, dialAsAgent, respondOn } from '../../../../test/kit/agent.js';
import { closeTestControlPlanes, startTestControlPlane } from '../../../../test/kit/control-plane.js';
import { until } from '../../../../test/kit/until.js';
import type { ControlPlane } from '../server.js';

let cp: ControlPlane;
let cred: { clientId: string; clientSecret: string };
const sockets: WebSocket[] = [];
const basic = basicAuth;

beforeEach(async () => {
  ({ cp } = await startTestControlPlane({ heartbeatIntervalMs: 200 }));
  cred = await cp.store.agentCredentials.create({ name: 'test', allowedIdentifiers: ['*'] });
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await closeTestControlPlanes();
});

async function dial(opts: { identifier?: string; auth?: string; protocol?: string } = {}): Promise<Dialled> {
  const dialled = await dialAsAgent(cp.url, {
    auth: opts.auth ?? basic(cred.clientId, cred.clientSecret),
    identifier: opts.identifier ?? 'rna-1',
    ...(opts.protocol === undefined ? {} : { protocol: opts.protocol }),
  });
  sockets.push(dialled.ws);
  return dialled;
}

/** A well-behaved agent in-process: a responder tunnel that answers with `handler`. */
async function goodAgent(
  identifier: string,
  handler: (url: string, body: Buffer) => { status: number; body: string },
) {
  const { ws } = await dial({ identifier });
  const tunnel = respondOn(ws, async (stream, head) => {
    const chunks: Buffer[] = [];
    for await (const c of stream.body) chunks.push(Buffer.from(c));
    const out = handler(head.url, Buffer.concat(chunks));
    stream.respond(out.status, [['content-type', 'text/plain']]);
    await stream.pipeFrom(out.body);
  });
  return { ws, tunnel };
}

async function api(path: string, init: RequestInit = {}) {
  const res = await fetch(cp.url + path, {
    ...init,
    headers: {
      authorization: 'Bearer test-token-0123456789',
      'content-type': 'application/json',
      ...(init.headers ?? {}),
    },
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe('relay: accepting agents', () => {
  it('lists a connected agent with its connection details, and drops it when it dies', async () => {
    const { ws } = await dial({ identifier: 'rna-list' });
    const { json } = await api('/api/v1/agents');
    expect(json.agents).toHaveLength(1);
    expect(json.agents[0].agentIdentifier).toBe('rna-list');
    const c = json.agents[0].connections[0];
    expect(c).toMatchObject({
      version: '0.0.0-test',
      clientId: cred.clientId,
      streamsInFlight: 0,
      draining: false,
    });
    expect(c.remoteAddress).toMatch(/127\.0\.0\.1/);
    expect(Date.parse(c.connectedAt)).toBeGreaterThan(Date.now() - 10_000);
    ws.terminate();
    await until(async () => (await api('/api/v1/agents')).json.agents.length === 0);
  });

  it('refuses wrong credentials with 401 and a message', async () => {
    const r = await dial({ auth: basic(cred.clientId, 'wrong') });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body ?? '{}').error.code).toBe('BRL_ERR_AGENT_AUTH');
    const missing = await dial({ auth: '' });
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body ?? '{}').error.message).toMatch(/BOREALIS_CLIENT_ID/);
  });

  it('refuses a protocol version mismatch naming both versions', async () => {
    const r = await dial({ protocol: 'borealis.tunnel.v99' });
    expect(r.status).toBe(426);
    const msg = JSON.parse(r.body ?? '{}').error.message as string;
    expect(msg).toContain('99');
    expect(msg).toContain('version 1');
    expect(r.headers?.['x-borealis-protocol-versions']).toBe('1, 2, 3');
  });

  it('refuses an identifier the credential may not serve', async () => {
    const limited = await cp.store.agentCredentials.create({ allowedIdentifiers: ['prod-*'] });
    const r = await dial({ identifier: 'dev-1', auth: basic(limited.clientId, limited.clientSecret) });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body ?? '{}').error.code).toBe('BRL_ERR_AGENT_IDENTIFIER_FORBIDDEN');
    const ok = await dial({ identifier: 'prod-eu', auth: basic(limited.clientId, limited.clientSecret) });
    expect(ok.status).toBeUndefined();
  });

  it('the API needs a bearer token', async () => {
    const res = await fetch(`${cp.url}/api/v1/agents`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('BRL_ERR_UNAUTHORIZED');
  });
});

describe('relay: dispatch', () => {
  it('fails at once with a clear code when no agent has the identifier', async () => {
    const p = cp.hub.dispatch('nobody', { method: 'GET', url: 'http://x/' });
    let settled = false;
    p.catch(() => {
      settled = true;
    });
    // "At once": settled before the event loop even turns (no socket, no timer involved).
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(true);
    await expect(p).rejects.toMatchObject({ code: 'BRL_ERR_AGENT_NOT_CONNECTED', retryable: true });
  });

  it('carries a call to the agent and its answer back', async () => {
    await goodAgent('rna-echo', (url, body) => ({ status: 201, body: `${url}|${body.toString()}` }));
    await until(() => cp.hub.connectionCount === 1);
    const res = await cp.hub.dispatch('rna-echo', { method: 'post', url: 'http://t/x', body: 'hello' });
    expect(res.status).toBe(201);
    expect(res.agent.agentIdentifier).toBe('rna-echo');
    let text = '';
    for await (const c of res.body) text += c.toString();
    expect(text).toBe('http://t/x|hello');
    await until(() => cp.hub.streamsInFlight === 0);
  });

  it('the probe route dispatches through the agent and answers in JSON', async () => {
    await goodAgent('rna-probe', () => ({ status: 200, body: 'pong' }));
    const { status, json } = await api('/api/v1/agents/rna-probe/probe', {
      method: 'POST',
      body: JSON.stringify({ url: 'http://svc.internal/ping' }),
    });
    expect(status).toBe(200);
    expect(Buffer.from(json.bodyBase64, 'base64').toString()).toBe('pong');
    const missing = await api('/api/v1/agents/ghost/probe', {
      method: 'POST',
      body: JSON.stringify({ url: 'http://x/' }),
    });
    expect(missing.status).toBe(503);
    expect(missing.json.error.code).toBe('BRL_ERR_AGENT_NOT_CONNECTED');
  });

  it('an agent that dies mid-body fails the reader with the same code, naming the agent', async () => {
    const { ws } = await dial({ identifier: 'rna-midbody' });
    const tunnel = new Tunnel({
      role: 'responder',
      sink: { send: (b, done) => ws.send(b, { binary: true }, done), close: (c, r) => ws.close(c, r) },
      onStream: (stream) => {
        stream.respond(200, []);
        void stream.write(Buffer.alloc(1000, 1)).then(() => setTimeout(() => ws.terminate(), 50));
      },
    });
    ws.on('message', (d) => tunnel.receive(d as Buffer));
    await until(() => cp.hub.connectionCount === 1);
    const res = await cp.hub.dispatch('rna-midbody', { method: 'GET', url: 'http://t/' });
    const read = (async () => {
      for await (const _ of res.body) {
        // keep reading until the agent goes away
      }
    })();
    await expect(read).rejects.toMatchObject({
      code: 'BRL_ERR_AGENT_DISCONNECTED',
      details: { agentIdentifier: 'rna-midbody', agentCode: 'BRL_STREAM_DISCONNECTED' },
    });
  });

  it('an agent that dies mid-call fails the call with agent-disconnected, not a hang', async () => {
    const { ws } = await dial({ identifier: 'rna-dies' });
    await until(() => cp.hub.connectionCount === 1);
    const p = cp.hub.dispatch('rna-dies', { method: 'GET', url: 'http://t/' });
    setTimeout(() => ws.terminate(), 50);
    await expect(p).rejects.toMatchObject({ code: 'BRL_ERR_AGENT_DISCONNECTED' });
  });
});

describe('relay: per-agent caps', () => {
  it('answers busy once an agent holds its byte cap for readers that do not read, never more memory', async () => {
    const plane = await startTestControlPlane({
      streamWindowBytes: 64 * 1024,
      agentMaxBufferedBytes: 96 * 1024,
    });
    const capped = plane.cp;
    try {
      const c = await capped.store.agentCredentials.create({ allowedIdentifiers: ['*'] });
      const ws = new WebSocket(capped.url.replace('http', 'ws') + AGENT_CONNECT_PATH, SUBPROTOCOL, {
        headers: { authorization: basic(c.clientId, c.clientSecret), [AgentHeaders.identifier]: 'rna-cap' },
      });
      sockets.push(ws);
      // The WELCOME (which sets the 64 KiB window) may arrive with the upgrade answer: listen first.
      const tunnel = new Tunnel({
        role: 'responder',
        sink: {
          send: (b, done) => ws.send(b, { binary: true }, done),
          close: (code, r) => ws.close(code, r),
        },
        onStream: (stream) => {
          stream.respond(200, []);
          stream.pipeFrom(Buffer.alloc(1024 * 1024, 1)).catch(() => {});
        },
      });
      ws.on('message', (d) => tunnel.receive(d as Buffer));
      await new Promise((r) => ws.once('open', r));
      const a = await capped.hub.dispatch('rna-cap', { method: 'GET', url: 'http://t/a' });
      const b = await capped.hub.dispatch('rna-cap', { method: 'GET', url: 'http://t/b' });
      a.body.pause();
      b.body.pause();
      await until(() => capped.hub.list()[0]?.connections[0]?.bufferedBytes === 128 * 1024);
      await expect(
        capped.hub.dispatch('rna-cap', { method: 'GET', url: 'http://t/c' }),
      ).rejects.toMatchObject({
        code: 'BRL_ERR_AGENT_BUSY',
        message: expect.stringContaining('BOREALIS_AGENT_MAX_BUFFERED'),
      });
      // Reading frees the bytes, and the agent takes calls again.
      for await (const _ of a.body) {
        // drain
      }
      await until(() => (capped.hub.list()[0]?.connections[0]?.bufferedBytes ?? 0) < 96 * 1024);
      const c2 = await capped.hub.dispatch('rna-cap', { method: 'GET', url: 'http://t/c' });
      c2.body.destroy();
      b.body.destroy();
    } finally {
      await plane.close();
    }
  });
});

describe('relay: hostile agents', () => {
  const hostile: Array<[string, () => Uint8Array | string, string]> = [
    ['garbage bytes', () => Buffer.from([0xc1, 0xff, 0x00]), 'BRL_PROTO_MALFORMED_FRAME'],
    ['a text message', () => 'hello', 'BRL_PROTO_MALFORMED_FRAME'],
    [
      'an OPEN frame (agents may not open streams)',
      () => encodeFrame({ type: 'open', stream: 1, method: 'GET', url: '/', headers: [], timeoutMs: 0 }),
      'BRL_PROTO_STREAM_NOT_ALLOWED',
    ],
    [
      'data for a stream it does not own',
      () => encodeFrame({ type: 'data', stream: 4242, chunk: new Uint8Array(3) }),
      'BRL_PROTO_UNKNOWN_STREAM',
    ],
    [
      'a response for a stream never opened',
      () => encodeFrame({ type: 'response', stream: 7, status: 200, headers: [] }),
      'BRL_PROTO_UNKNOWN_STREAM',
    ],
    ['an oversized frame', () => Buffer.alloc(300 * 1024, 0x90), 'close 1009'],
  ];

  it.each(hostile)(
    '%s: that connection is closed with a reason; other agents keep working',
    async (_name, frame, expected) => {
      await goodAgent('rna-good', () => ({ status: 200, body: 'still here' }));
      const { ws: bad } = await dial({ identifier: 'rna-bad' });
      await until(() => cp.hub.connectionCount === 2);
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        bad.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      bad.send(frame());
      const { code, reason } = await closed;
      if (expected.startsWith('close ')) expect(code).toBe(Number(expected.slice(6)));
      else expect(reason).toContain(expected);
      const res = await cp.hub.dispatch('rna-good', { method: 'GET', url: 'http://t/' });
      let text = '';
      for await (const c of res.body) text += c.toString();
      expect(text).toBe('still here');
      await until(() => cp.hub.list().every((g) => g.agentIdentifier !== 'rna-bad'));
    },
  );

  it('an agent that floods a stream beyond its window is disconnected', async () => {
    const { ws } = await dial({ identifier: 'rna-flood' });
    await until(() => cp.hub.connectionCount === 1);
    const closed = new Promise<string>((resolve) => ws.once('close', (_c, r) => resolve(r.toString())));
    ws.on('message', (data) => {
      // Answer the first OPEN with a head, then far more data than any window.
      const frame = decodeFrame(data as Buffer);
      if (frame.type === 'open') {
        ws.send(encodeFrame({ type: 'response', stream: 1, status: 200, headers: [] }));
        for (let i = 0; i <= cp.options.streamWindowBytes / (64 * 1024); i++)
          ws.send(encodeFrame({ type: 'data', stream: 1, chunk: new Uint8Array(64 * 1024) }));
      }
    });
    const p = cp.hub.dispatch('rna-flood', { method: 'GET', url: 'http://t/' });
    p.then(
      (r) => r.body.pause(),
      () => {},
    );
    expect(await closed).toContain('BRL_PROTO_FLOW_CONTROL');
  });
});
