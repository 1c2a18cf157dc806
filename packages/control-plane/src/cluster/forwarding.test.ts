import { ProtocolError, type TunnelStream } from '@borealis/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { connectTestAgent } from '../../../../test/kit/agent.js';
import { closeTestControlPlanes, startTestControlPlane } from '../../../../test/kit/control-plane.js';
import { until } from '../../../../test/kit/until.js';
import { isBorealisError } from '../errors.js';
import type { ControlPlane } from '../server.js';
import { createInProcessNetwork } from './in-process-bus.js';

/**
 * Two control planes on one in-process bus: a dispatch on B to an agent connected to A is
 * forwarded to A and streamed back, with A's answer, its errors' codes and cancellation.
 */
let a: ControlPlane;
let b: ControlPlane;
const sockets: WebSocket[] = [];

async function start(network: ReturnType<typeof createInProcessNetwork>, name: string) {
  const started = await startTestControlPlane({
    heartbeatIntervalMs: 200,
    replicaId: name,
    clusterBus: network.join(),
  });
  return started.cp;
}

beforeEach(async () => {
  const network = createInProcessNetwork();
  a = await start(network, 'replica-a');
  b = await start(network, 'replica-b');
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await closeTestControlPlanes();
});

/** An in-process agent on `cp` whose streams `onStream` answers. */
async function agent(cp: ControlPlane, identifier: string, onStream: (s: TunnelStream, url: string) => void) {
  const connected = await connectTestAgent(cp, identifier, onStream);
  sockets.push(connected.ws);
  return connected;
}

const seen = (cp: ControlPlane, id: string) => () =>
  cp.hub.list().some((g) => g.agentIdentifier === id && g.connections.length > 0);

describe('forwarding between replicas', () => {
  it('lists agents of every replica and forwards a call to the replica holding the agent', async () => {
    await agent(a, 'rna-a', (stream, url) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const c of stream.body) chunks.push(Buffer.from(c as Uint8Array));
        stream.respond(201, [['x-echo', url]]);
        await stream.pipeFrom(`got ${Buffer.concat(chunks).toString()}`);
      })().catch(() => undefined);
    });
    await until(seen(b, 'rna-a'));
    const listed = b.hub.list().find((g) => g.agentIdentifier === 'rna-a');
    expect(listed?.connections[0]?.replicaId).toBe('replica-a');

    const res = await b.hub.dispatch('rna-a', { method: 'POST', url: 'http://x/y', body: 'hello' });
    let text = '';
    for await (const c of res.body) text += Buffer.from(c as Uint8Array).toString();
    expect(res.status).toBe(201);
    expect(res.headers).toEqual([['x-echo', 'http://x/y']]);
    expect(text).toBe('got hello');
    expect(res.agent).toMatchObject({
      agentIdentifier: 'rna-a',
      instanceId: 'inst-rna-a',
      replicaId: 'replica-a',
    });
  });

  it('streams a large answer with flow control end to end', async () => {
    const size = 8 * 1024 * 1024;
    await agent(a, 'rna-big', (stream) => {
      stream.respond(200, []);
      void (async () => {
        const chunk = Buffer.alloc(64 * 1024, 7);
        for (let sent = 0; sent < size; sent += chunk.length) await stream.write(chunk);
        stream.end();
      })().catch(() => undefined);
    });
    await until(seen(b, 'rna-big'));
    const res = await b.hub.dispatch('rna-big', { method: 'GET', url: 'http://x/big' });
    // A slow reader: what waits anywhere along the way stays within a few windows.
    await new Promise((r) => setTimeout(r, 300));
    const buffered = a.hub.localConnections()[0]?.bufferedBytes ?? 0;
    // at most one window: credit follows what the reader took
    expect(buffered).toBeLessThanOrEqual(a.options.streamWindowBytes);
    let got = 0;
    for await (const c of res.body) got += (c as Uint8Array).byteLength;
    expect(got).toBe(size);
  });

  it('keeps the error code of a forwarded failure', async () => {
    await agent(a, 'rna-refuse', (stream) => {
      stream.reset(new ProtocolError('BRL_STREAM_DESTINATION_REFUSED', 'not on my list'));
    });
    await until(seen(b, 'rna-refuse'));
    const err = await b.hub
      .dispatch('rna-refuse', { method: 'GET', url: 'http://x/' })
      .catch((e: unknown) => e);
    expect(isBorealisError(err, 'BRL_ERR_AGENT_REFUSED')).toBe(true);
    const none = await b.hub
      .dispatch('rna-nobody', { method: 'GET', url: 'http://x/' })
      .catch((e: unknown) => e);
    expect(isBorealisError(none, 'BRL_ERR_AGENT_NOT_CONNECTED')).toBe(true);
  });

  it('cancels the agent stream when the caller on the other replica gives up', async () => {
    let cancelled = false;
    await agent(a, 'rna-slow', (stream) => {
      stream.signal.addEventListener('abort', () => {
        cancelled = true;
      });
    });
    await until(seen(b, 'rna-slow'));
    const controller = new AbortController();
    const pending = b.hub.dispatch('rna-slow', {
      method: 'GET',
      url: 'http://x/',
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(isBorealisError(err, 'BRL_ERR_DISPATCH_CANCELLED')).toBe(true);
    await until(() => cancelled);
    await until(() => a.hub.streamsInFlight === 0 && b.hub.streamsInFlight === 0);
  });
});

describe('waiting for an agent across replicas', () => {
  it('a replica waiting for an agent sees it connect to another replica and forwards the call there', async () => {
    const waiting = b.hub.waitForAgent('rna-late', { timeoutMs: 10_000 });
    expect(b.hub.hasAgent('rna-late')).toBe(false);
    await agent(a, 'rna-late', (stream) => {
      stream.respond(200, []);
      void stream.pipeFrom('here now').catch(() => undefined);
    });
    expect(await waiting).toBe(true);
    const res = await b.hub.dispatch('rna-late', { method: 'GET', url: 'http://x/' });
    let text = '';
    for await (const c of res.body) text += Buffer.from(c as Uint8Array).toString();
    expect(text).toBe('here now');
    expect(res.agent.replicaId).toBe('replica-a');
  });

  it('gives up after its timeout, and at once when aborted', async () => {
    expect(await b.hub.waitForAgent('rna-never', { timeoutMs: 100 })).toBe(false);
    const controller = new AbortController();
    const waiting = b.hub.waitForAgent('rna-never', { timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    expect(await waiting).toBe(false);
  });
});
