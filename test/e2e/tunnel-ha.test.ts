import type { ControlPlane } from '@borealis/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../kit/control-plane.js';
import { agentEnv, bins, type Proc, repoRoot, startProcess, stopAll, until } from './support/processes.js';

/**
 * Several agents with one identifier, drain on SIGTERM, and cancellation at scale: the control
 * plane in-process (so the test can count its streams), agents and the target as real processes.
 */
let plane: TestControlPlane;
let cp: ControlPlane;
let target: string;
let cred: { clientId: string; clientSecret: string };

beforeAll(async () => {
  plane = await startTestControlPlane({
    apiToken: 'ha-token-0123456789',
    heartbeatIntervalMs: 500,
  });
  cp = plane.cp;
  cred = await cp.store.agentCredentials.create({ name: 'ha', allowedIdentifiers: ['*'] });
  const web = startProcess(`${repoRoot}test/e2e/support/web-server.mjs`);
  const { port } = await web.waitForLog('listening');
  target = `http://127.0.0.1:${port as number}`;
}, 60_000);

afterAll(async () => {
  await stopAll();
  await plane?.close();
});

async function startAgent(
  identifier: string,
  extra: Record<string, string> = {},
): Promise<Proc & { instanceId: string; healthPort: number }> {
  const agent = startProcess(bins.agent, {
    env: {
      ...agentEnv({ url: cp.url, identifier, cred }),
      BOREALIS_AGENT_MAX_STREAMS: '1024',
      ...extra,
    },
  });
  const listening = await agent.waitForLog('listening');
  const connected = await agent.waitForLog('connected');
  return Object.assign(agent, {
    instanceId: connected.instanceId as string,
    healthPort: listening.port as number,
  });
}

async function streamsInFlightAt(agent: { healthPort: number }): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${agent.healthPort}/metrics`)).text();
  const m = /^borealis_agent_streams_in_flight(?:\{[^}]*\})? (\d+)/m.exec(text);
  if (!m) throw new Error(`no streams_in_flight metric in:\n${text}`);
  return Number(m[1]);
}

async function drainBody(res: { body: AsyncIterable<unknown> }): Promise<void> {
  for await (const _ of res.body) {
    // read to the end
  }
}

function openStreamsOnControlPlane(): number {
  return cp.hub.list().reduce((n, g) => n + g.connections.reduce((m, c) => m + c.streamsInFlight, 0), 0);
}

describe('several agents with one identifier', () => {
  it('spreads dispatches over both; kill -9 of one fails only its in-flight calls, clearly', async () => {
    const a = await startAgent('ha-rna');
    const b = await startAgent('ha-rna');
    await until(
      () => cp.hub.list().find((g) => g.agentIdentifier === 'ha-rna')?.connections.length === 2,
      'both listed',
    );

    const results: Array<{ ok: boolean; instanceId?: string; code?: string; sentAfterKill: boolean }> = [];
    let killedAt = 0;
    let next = 0;
    const worker = async () => {
      while (next < 1000) {
        const i = next++;
        if (i === 400) {
          a.kill('SIGKILL');
          killedAt = Date.now();
        }
        const sentAfterKill = killedAt > 0;
        try {
          const res = await cp.hub.dispatch('ha-rna', {
            method: 'GET',
            url: `${target}/slow?ms=20`,
            timeoutMs: 15_000,
          });
          await drainBody(res);
          results.push({ ok: true, instanceId: res.agent.instanceId, sentAfterKill });
        } catch (err) {
          const e = err as { code: string; details?: { instanceId?: string } };
          results.push({ ok: false, code: e.code, instanceId: e.details?.instanceId, sentAfterKill });
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));

    expect(results).toHaveLength(1000);
    const okOn = (id: string) => results.filter((r) => r.ok && r.instanceId === id).length;
    expect(okOn(a.instanceId)).toBeGreaterThan(50);
    expect(okOn(b.instanceId)).toBeGreaterThan(50);
    const failures = results.filter((r) => !r.ok);
    // Every failure was in flight on the dead agent and says so; nothing timed out or hung.
    for (const f of failures) {
      expect(f.code).toBe('BRL_ERR_AGENT_DISCONNECTED');
      expect(f.instanceId).toBe(a.instanceId);
    }
    expect(failures.length).toBeLessThanOrEqual(64);
    // Once the death is noticed, everything goes to the survivor.
    const late = results.filter((r) => r.sentAfterKill).slice(64);
    expect(late.length).toBeGreaterThan(100);
    expect(late.every((r) => r.ok && r.instanceId === b.instanceId)).toBe(true);
    await b.stop();
  });
});

describe('drain', () => {
  it('SIGTERM during 20 slow calls: all 20 complete, new calls go elsewhere, the agent exits 0', async () => {
    const draining = await startAgent('drain-rna');
    const calls = Array.from({ length: 20 }, () =>
      cp.hub
        .dispatch('drain-rna', { method: 'GET', url: `${target}/slow?ms=1500`, timeoutMs: 20_000 })
        .then(async (res) => {
          let text = '';
          for await (const c of res.body) text += String(c);
          return { status: res.status, text, instanceId: res.agent.instanceId };
        }),
    );
    await until(async () => (await streamsInFlightAt(draining)) === 20, 'the 20 calls to reach the agent');
    const other = await startAgent('drain-rna');
    draining.kill('SIGTERM');
    await until(
      () =>
        cp.hub
          .list()
          .some((g) => g.connections.some((c) => c.instanceId === draining.instanceId && c.draining)),
      'the control plane to see the drain',
    );

    // New calls go to the other agent while the first finishes its work.
    const fresh = await cp.hub.dispatch('drain-rna', { method: 'GET', url: `${target}/hello` });
    await drainBody(fresh);
    expect(fresh.agent.instanceId).toBe(other.instanceId);

    const done = await Promise.all(calls);
    expect(done.map((d) => d.status)).toEqual(Array(20).fill(200));
    expect(done.every((d) => d.text === 'slow' && d.instanceId === draining.instanceId)).toBe(true);
    expect((await draining.exited).code).toBe(0);

    // With no agent left but a draining one, a new call gets a clear error at once.
    const last = await startAgent('solo-rna');
    const slow = cp.hub.dispatch('solo-rna', { method: 'GET', url: `${target}/slow?ms=1500` });
    await until(async () => (await streamsInFlightAt(last)) === 1, 'the call to reach the agent');
    last.kill('SIGTERM');
    await until(
      () =>
        cp.hub.list().some((g) => g.agentIdentifier === 'solo-rna' && g.connections.every((c) => c.draining)),
      'drain seen',
    );
    await expect(
      cp.hub.dispatch('solo-rna', { method: 'GET', url: `${target}/hello` }),
    ).rejects.toMatchObject({
      code: 'BRL_ERR_AGENT_NOT_CONNECTED',
      message: expect.stringContaining('draining'),
    });
    await drainBody(await slow);
    await other.stop();
  });
});

describe('cancellation', () => {
  it('10,000 calls cancelled at random points leave no stream open on either end', async () => {
    const agent = await startAgent('cancel-rna');
    let completed = 0;
    let cancelled = 0;
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        next++;
        const ac = new AbortController();
        const abortAfter = Math.random() * 40;
        const timer = setTimeout(() => ac.abort(), abortAfter);
        try {
          const res = await cp.hub.dispatch('cancel-rna', {
            method: 'GET',
            url: `${target}/drip?n=8&ms=4`,
            signal: ac.signal,
          });
          // Some readers give up half-way through the body instead of aborting.
          if (Math.random() < 0.3) {
            for await (const _ of res.body) {
              res.body.destroy();
              break;
            }
            cancelled++;
          } else {
            await drainBody(res);
            completed++;
          }
        } catch {
          cancelled++;
        } finally {
          clearTimeout(timer);
        }
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    expect(completed + cancelled).toBe(10_000);
    expect(cancelled).toBeGreaterThan(1000);
    await until(
      () => cp.hub.streamsInFlight === 0 && openStreamsOnControlPlane() === 0,
      'control-plane streams to close',
      15_000,
    );
    await until(async () => (await streamsInFlightAt(agent)) === 0, 'agent streams to close', 15_000);
    await agent.stop();
  }, 180_000);
});
