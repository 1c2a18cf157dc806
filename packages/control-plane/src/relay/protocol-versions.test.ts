import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AGENT_CONNECT_PATH,
  AgentHeaders,
  decodeFrame,
  Limits,
  offeredSubprotocols,
  SUBPROTOCOL,
  SUBPROTOCOL_V2,
  SUBPROTOCOL_V3,
  subprotocolVersion,
  Tunnel,
} from '@borealis/protocol';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { until } from '../../../../test/kit/until.js';
import { type ControlPlane, createControlPlane } from '../server.js';

/**
 * Issue 17: protocol v2 is negotiated in the subprotocol. A v2 control plane serves an agent that
 * offers only v1 (released before v2) with v1 frames, and one that offers both with v2 frames,
 * where a small call and its small answer are one frame each way, and one that also offers v3
 * with v3 frames (DATA of up to `Limits.maxDataChunkBytesV3`). (A v2 agent against a v1 control
 * plane: packages/agent's tests, whose control-plane double takes the first offer, v1.)
 */
let cp: ControlPlane;
let dir: string;
const sockets: WebSocket[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'brl-versions-'));
  cp = await createControlPlane({
    port: 0,
    dataDir: dir,
    apiToken: 'test-token-0123456789',
    logger: pino({ level: 'silent' }),
  });
  await cp.listen();
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An agent in-process offering `protocols`; it echoes bodies and counts the frame types it gets. */
async function agent(identifier: string, protocols: string[]) {
  const cred = await cp.store.agentCredentials.create({ allowedIdentifiers: [identifier] });
  const ws = new WebSocket(cp.url.replace('http', 'ws') + AGENT_CONNECT_PATH, protocols, {
    headers: {
      authorization: `Basic ${Buffer.from(`${cred.clientId}:${cred.clientSecret}`).toString('base64')}`,
      [AgentHeaders.identifier]: identifier,
      [AgentHeaders.instanceId]: `inst-${identifier}`,
      [AgentHeaders.version]: '0.0.0-test',
    },
  });
  sockets.push(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const received: string[] = [];
  const sent: string[] = [];
  /** The largest DATA chunk each way. */
  const largest = { received: 0, sent: 0 };
  const limit = subprotocolVersion(ws.protocol) >= 3 ? Limits.maxDataChunkBytesV3 : Limits.maxChunkBytes;
  const note = (bytes: Uint8Array, types: string[], way: 'received' | 'sent') => {
    const frame = decodeFrame(bytes, limit);
    types.push(frame.type);
    if (frame.type === 'data') largest[way] = Math.max(largest[way], frame.chunk.byteLength);
  };
  const tunnel = new Tunnel({
    role: 'responder',
    version: subprotocolVersion(ws.protocol),
    sink: {
      send: (b, done) => {
        note(b, sent, 'sent');
        ws.send(b, { binary: true }, done);
      },
      close: (c, r) => ws.close(c, r),
    },
    onStream: async (stream, head) => {
      const chunks: Buffer[] = [];
      for await (const c of stream.body) chunks.push(Buffer.from(c));
      const body = Buffer.concat(chunks);
      const headers: Array<[string, string]> = [['x-method', head.method]];
      if (body.byteLength > 0) headers.push(['content-length', String(body.byteLength)]);
      await stream.respondWhole(200, headers, body);
    },
  });
  ws.on('message', (d) => {
    note(d as Buffer, received, 'received');
    tunnel.receive(d as Buffer);
  });
  ws.on('close', (c, r) => tunnel.transportClosed(c, r.toString()));
  await until(() => cp.hub.hasAgent(identifier));
  return { ws, received, sent, largest };
}

async function call(identifier: string, body: Buffer | null) {
  const res = await cp.hub.dispatch(identifier, {
    method: body ? 'POST' : 'GET',
    url: 'http://127.0.0.1:1/echo',
    headers: body ? [['content-length', String(body.byteLength)]] : [],
    ...(body ? { body } : {}),
  });
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(Buffer.from(c));
  return { status: res.status, body: Buffer.concat(chunks) };
}

const streamFrames = (types: string[]) =>
  types.filter((t) => !['welcome', 'ping', 'pong', 'streams'].includes(t));

describe('protocol versions', () => {
  it('an agent that offers v1 to v3 gets v3; one that offers v1 and v2 gets v2; one that offers only v1 gets v1', async () => {
    expect(offeredSubprotocols()).toEqual([SUBPROTOCOL, SUBPROTOCOL_V2, SUBPROTOCOL_V3]);
    const all = await agent('rna-all', offeredSubprotocols());
    const v2 = await agent('rna-v2', [SUBPROTOCOL, SUBPROTOCOL_V2]);
    const old = await agent('rna-old', [SUBPROTOCOL]);
    expect(all.ws.protocol).toBe(SUBPROTOCOL_V3);
    expect(v2.ws.protocol).toBe(SUBPROTOCOL_V2);
    expect(old.ws.protocol).toBe(SUBPROTOCOL);
  });

  it('v1 agent on a v2 control plane: the call is OPEN, DATA, END and the answer RESPONSE, DATA, END', async () => {
    const a = await agent('rna-old', [SUBPROTOCOL]);
    const r = await call('rna-old', Buffer.from('hello'));
    expect(r).toEqual({ status: 200, body: Buffer.from('hello') });
    expect(streamFrames(a.received)).toEqual(['open', 'data', 'end']);
    expect(streamFrames(a.sent)).toEqual(['response', 'data', 'end']);
  });

  it('v2 agent: a small call is one CALL frame and its answer one REPLY frame', async () => {
    const a = await agent('rna-new', [SUBPROTOCOL, SUBPROTOCOL_V2]);
    expect(await call('rna-new', Buffer.from('hello'))).toEqual({ status: 200, body: Buffer.from('hello') });
    expect(await call('rna-new', null)).toEqual({ status: 200, body: Buffer.alloc(0) });
    expect(streamFrames(a.received)).toEqual(['call', 'call']);
    expect(streamFrames(a.sent)).toEqual(['reply', 'reply']);
  });

  it('a one-frame REPLY can be taken whole from the dispatch answer, which then frees its stream; a streamed answer cannot', async () => {
    await agent('rna-whole', offeredSubprotocols());
    await agent('rna-v1', [SUBPROTOCOL]);
    const dispatch = (identifier: string, body: Buffer) =>
      cp.hub.dispatch(identifier, {
        method: 'POST',
        url: 'http://127.0.0.1:1/echo',
        headers: [['content-length', String(body.byteLength)]],
        body,
      });
    const small = await dispatch('rna-whole', Buffer.from('hello'));
    expect(Buffer.from(small.takeWholeBody?.() ?? []).toString()).toBe('hello');
    // Taken once: the body then reads as empty, and the stream is no longer in flight.
    expect(small.takeWholeBody?.()).toBeUndefined();
    const rest: Buffer[] = [];
    for await (const c of small.body) rest.push(Buffer.from(c));
    expect(Buffer.concat(rest).byteLength).toBe(0);
    await until(() => cp.hub.streamsInFlight === 0);

    const big = await dispatch('rna-whole', Buffer.alloc(300 * 1024, 7));
    expect(big.takeWholeBody?.()).toBeUndefined();
    const chunks: Buffer[] = [];
    for await (const c of big.body) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).equals(Buffer.alloc(300 * 1024, 7))).toBe(true);

    // v1: RESPONSE, DATA and END may all have arrived by then; whichever way, the same bytes.
    const v1 = await dispatch('rna-v1', Buffer.from('hello'));
    const v1Whole = v1.takeWholeBody?.();
    const v1Body: Buffer[] = v1Whole === undefined ? [] : [Buffer.from(v1Whole)];
    for await (const c of v1.body) v1Body.push(Buffer.from(c));
    expect(Buffer.concat(v1Body).toString()).toBe('hello');
    await until(() => cp.hub.streamsInFlight === 0);
  });

  it('v2 agent: a body larger than one frame streams with credit, as in v1, in DATA of at most 64 KiB', async () => {
    const a = await agent('rna-big', [SUBPROTOCOL, SUBPROTOCOL_V2]);
    const big = Buffer.alloc(300 * 1024, 7);
    const r = await call('rna-big', big);
    expect(r.status).toBe(200);
    expect(r.body.equals(big)).toBe(true);
    expect(streamFrames(a.received)[0]).toBe('open');
    expect(streamFrames(a.received)).toContain('data');
    expect(streamFrames(a.sent).filter((t) => t !== 'credit')[0]).toBe('response');
    expect(a.largest.received).toBeLessThanOrEqual(Limits.maxChunkBytes);
    expect(a.largest.sent).toBeLessThanOrEqual(Limits.maxChunkBytes);
  });

  it('v3 agent: a small call is still one frame each way; a large body goes in DATA frames over 64 KiB', async () => {
    const a = await agent('rna-v3', offeredSubprotocols());
    expect(await call('rna-v3', Buffer.from('hello'))).toEqual({ status: 200, body: Buffer.from('hello') });
    expect(streamFrames(a.received)).toEqual(['call']);
    expect(streamFrames(a.sent)).toEqual(['reply']);
    const big = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 13) & 0xff));
    const r = await call('rna-v3', big);
    expect(r.status).toBe(200);
    expect(r.body.equals(big)).toBe(true);
    expect(a.largest.received).toBeGreaterThan(Limits.maxChunkBytes);
    expect(a.largest.received).toBeLessThanOrEqual(Limits.maxDataChunkBytesV3);
    expect(a.largest.sent).toBeGreaterThan(Limits.maxChunkBytes);
  });
});
