import { readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bins, type Proc, repoRoot, startProcess, stopAll, until } from './support/processes.js';

/**
 * Issue 3, acceptance 1 and 3 on a smaller size, with real processes: the control plane (the
 * bench's entry script: createControlPlane from dist plus a raw HTTP front that forwards every
 * request through `hub.dispatch`), the real agent program, and a plain target server.
 */
const MiB = 1024 * 1024;
const KiB = 1024;

let target: Proc;
let cp: Proc;
let agent: Proc;
let front: string;
const http = new Agent({ connections: 32 });

function memory(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Peak RSS of `pids` while `fn` runs: VmHWM after a reset (clear_refs 5), and a 20 ms poll. */
async function peakRss(pids: number[], fn: () => Promise<void>): Promise<Map<number, number>> {
  const peaks = new Map<number, number>();
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // not allowed here: the poll alone measures
    }
    peaks.set(pid, memory(pid).rss);
  }
  const poll = () => {
    for (const pid of pids) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, memory(pid).rss));
  };
  const timer = setInterval(poll, 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  for (const pid of pids) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, memory(pid).hwm));
  return peaks;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await http.request({ origin: front, path, method: 'GET' });
  return (await res.body.json()) as T;
}

async function download(bytes: number, headers: Record<string, string> = {}): Promise<number> {
  const res = await http.request({ origin: front, path: `/bytes?n=${bytes}`, method: 'GET', headers });
  expect(res.statusCode).toBe(200);
  let got = 0;
  for await (const chunk of res.body) got += (chunk as Buffer).length;
  return got;
}

async function* repeated(bytes: number): AsyncGenerator<Buffer> {
  const block = Buffer.alloc(64 * KiB, 0x63);
  for (let left = bytes; left > 0; left -= block.length) {
    yield left >= block.length ? block : block.subarray(0, left);
  }
}

async function sink(bytes: number): Promise<void> {
  const res = await http.request({
    origin: front,
    path: '/sink',
    method: 'POST',
    headers: { 'content-length': String(bytes) },
    body: repeated(bytes),
  });
  expect(await res.body.json()).toEqual({ bytes });
}

interface Tracked {
  streams: number;
  open: number;
  maxBuffered: number;
  lastBuffered: number;
  window: number;
}

beforeAll(async () => {
  target = startProcess(`${repoRoot}test/bench/target.mjs`);
  const { port } = await target.waitForLog('listening');
  cp = startProcess(`${repoRoot}test/bench/control-plane-front.mjs`, {
    args: [`http://127.0.0.1:${port}`],
    env: { BENCH_AGENT_IDENTIFIER: 'limits-rna' },
  });
  const ready = await cp.waitForLog('ready');
  front = ready.frontUrl as string;
  agent = startProcess(bins.agent, {
    env: {
      BOREALIS_CONTROL_PLANE_URL: ready.url as string,
      BOREALIS_AGENT_IDENTIFIER: 'limits-rna',
      BOREALIS_CLIENT_ID: ready.clientId as string,
      BOREALIS_CLIENT_SECRET: ready.clientSecret as string,
      BOREALIS_ALLOW: '127.0.0.1/32',
      BOREALIS_AGENT_HEALTH_PORT: '0',
      BOREALIS_LOG_LEVEL: 'info',
    },
  });
  await agent.waitForLog('connected');
  await until(
    async () => (await getJson<{ connections: number }>('/bench/stats')).connections === 1,
    'the agent on the control plane',
  );
}, 60_000);

afterAll(async () => {
  await http.close();
  await stopAll();
});

describe('tunnel limits with the real agent', () => {
  it('64 MiB each way raise neither control plane nor agent RSS by more than 64 MiB over idle', async () => {
    const cpPid = cp.child.pid as number;
    const agentPid = agent.child.pid as number;
    // Idle after one small call each way, so code loaded on first use is not counted as growth.
    expect(await download(64 * KiB)).toBe(64 * KiB);
    await sink(64 * KiB);
    await new Promise((r) => setTimeout(r, 500));
    const idle = { cp: memory(cpPid).rss, agent: memory(agentPid).rss };
    const peaks = await peakRss([cpPid, agentPid], async () => {
      expect(await download(64 * MiB)).toBe(64 * MiB);
      await sink(64 * MiB);
    });
    const growth = {
      cpMiB: ((peaks.get(cpPid) ?? 0) - idle.cp) / MiB,
      agentMiB: ((peaks.get(agentPid) ?? 0) - idle.agent) / MiB,
    };
    console.log(
      `RSS growth over idle: control plane ${growth.cpMiB.toFixed(1)} MiB, agent ${growth.agentMiB.toFixed(1)} MiB`,
    );
    expect(growth.cpMiB).toBeLessThanOrEqual(64);
    expect(growth.agentMiB).toBeLessThanOrEqual(64);
  }, 60_000);

  describe('a stream whose reader is paused', () => {
    let tracked: Tracked;
    let completed: number[];

    beforeAll(async () => {
      // Headers read, body never read: the front stops reading the tunnel stream once its socket
      // to us is full, and the stream's window fills.
      const paused = await http.request({
        origin: front,
        path: `/bytes?n=${1024 * MiB}`,
        method: 'GET',
        headers: { 'x-bench-track': '1' },
      });
      let last = -1;
      await until(async () => {
        const t = await getJson<Tracked>('/bench/tracked');
        const settled = t.open === 1 && t.lastBuffered > 0 && t.lastBuffered === last;
        last = t.lastBuffered;
        if (!settled) await new Promise((r) => setTimeout(r, 150));
        return settled;
      }, "the paused stream's window to fill");
      completed = await Promise.all(Array.from({ length: 8 }, () => download(8 * MiB)));
      tracked = await getJson<Tracked>('/bench/tracked');
      paused.body.destroy();
    }, 60_000);

    it('does not hold up 8 other streams on the same connection, and stays open', () => {
      expect(completed).toEqual(Array(8).fill(8 * MiB));
      expect(tracked.streams).toBe(1);
      expect(tracked.open).toBe(1); // paused, not reset
      expect(tracked.maxBuffered).toBeGreaterThanOrEqual(tracked.window / 2); // and its window did fill
    });

    it('never buffers more than its window (bufferedBytes, the flow-control figure)', () => {
      expect(tracked.maxBuffered).toBeLessThanOrEqual(tracked.window);
    });
  });
});
