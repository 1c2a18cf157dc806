import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { connectTestAgent } from '../../../../test/kit/agent.js';
import { closeTestControlPlanes, startTestControlPlane } from '../../../../test/kit/control-plane.js';
import { until } from '../../../../test/kit/until.js';
import type { ClusterBus } from './bus.js';
import { createInProcessNetwork } from './in-process-bus.js';

/**
 * Under load a replica's presence announcements can queue behind the frames it forwards (one bus
 * connection, in order), so a replica busy answering calls may be late with them. Its frames are
 * proof of life: a call it is answering must not fail as "replica gone" for a late announcement.
 */
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await closeTestControlPlanes();
});

/** A bus whose presence announcements can be held back (`mute.on = true`), all else delivered. */
function mutable(bus: ClusterBus, mute: { on: boolean }): ClusterBus {
  return {
    ...bus,
    kind: bus.kind,
    publish(topic, data, headers) {
      if (mute.on && topic === 'presence') return;
      bus.publish(topic, data, headers);
    },
    subscribe: (topic, handler) => bus.subscribe(topic, handler),
    request: (topic, data, timeoutMs) => bus.request(topic, data, timeoutMs),
    health: () => bus.health(),
    onInterrupted: (l) => bus.onInterrupted(l),
    onRestored: (l) => bus.onRestored(l),
    close: () => bus.close(),
  };
}

describe('presence under load', () => {
  it('a replica answering a call is alive though its announcements are late; the call completes', async () => {
    const network = createInProcessNetwork();
    const mute = { on: false };
    const presenceIntervalMs = 100; // silent 300 ms is gone
    const holder = await startTestControlPlane({
      heartbeatIntervalMs: 200,
      replicaId: 'replica-holder',
      clusterBus: mutable(network.join(), mute),
      presenceIntervalMs,
    });
    const caller = await startTestControlPlane({
      heartbeatIntervalMs: 200,
      replicaId: 'replica-caller',
      clusterBus: network.join(),
      presenceIntervalMs,
      log: 'info',
    });
    const chunks = 12;
    const connected = await connectTestAgent(holder.cp, 'rna-busy', (stream) => {
      stream.respond(200, []);
      void (async () => {
        // An answer that takes four times the presence TTL, a chunk every 100 ms.
        for (let i = 0; i < chunks; i++) {
          await new Promise((r) => setTimeout(r, presenceIntervalMs));
          await stream.write(Buffer.from(`chunk ${i}\n`));
        }
        stream.end();
      })().catch(() => undefined);
    });
    sockets.push(connected.ws);
    await until(() => caller.cp.hub.hasAgent('rna-busy'), 'the caller to see the agent');

    const res = await caller.cp.hub.dispatch('rna-busy', { method: 'GET', url: 'http://x/slow' });
    mute.on = true; // from here the holder's announcements are late: only its frames arrive
    let text = '';
    for await (const c of res.body) text += Buffer.from(c as Uint8Array).toString();
    expect(text.split('\n').filter(Boolean)).toHaveLength(chunks);
    expect(caller.records.filter((r) => r.msg === 'replica left; its agents are gone from the list')).toEqual(
      [],
    );
  });
});
