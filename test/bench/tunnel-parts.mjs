// The tunnel parts of the bench, each measured side by side with its baseline in the same run:
// small requests, 256 MiB transfers, head-of-line blocking (against the stack from stack.mjs) and
// idle agents (a control plane of their own, with swarms of protocol-level agents).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { HeartbeatDefaults } from '@borealis/protocol';
import { Pool } from 'undici';
import {
  benchDir,
  KiB,
  MiB,
  mb,
  peakRssDuring,
  percentile,
  procCpuMs,
  procMemory,
  sleep,
  startRole,
} from './lib.mjs';
import { download, echo, getJson, loadAgent, startControlPlane, until, upload } from './stack.mjs';

export const settings = {
  smallBodyBytes: KiB,
  smallWarmupMs: 1000,
  smallMeasureMs: 4000,
  bigBytes: 256 * MiB,
  holBytesPerStream: 32 * MiB,
  holRounds: 3,
  idleWindowMs: 10_000,
  // BENCH_IDLE_COUNTS=1000,5000 for a shorter experiment; the bench's own run uses the default.
  idleCounts: process.env.BENCH_IDLE_COUNTS?.split(',').map(Number) ?? [1000, 5000, 20_000],
  /**
   * Most agent connections one swarm process opens (each is a file descriptor there, within that
   * process's own open-file limit). A level's swarms connect at the same time.
   */
  swarmChunk: 5_000,
  heartbeatMs: HeartbeatDefaults.intervalMs,
  logLevel: 'warn (control plane and agent; the proxy does not log)',
};

/** Closed-loop load: `concurrency` callers each sending 1 KiB POSTs back to back. */
async function smallRequests(base, concurrency, middlePids, { warmUpOnly = false } = {}) {
  const pool = new Pool(base, { connections: concurrency, pipelining: 1 });
  const runFor = async (ms, latencies) => {
    const end = performance.now() + ms;
    let errors = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          try {
            await echo(base, pool);
            latencies?.push(performance.now() - t);
          } catch {
            errors++;
            if (errors > 100) throw new Error(`${base}: more than 100 failed requests`);
          }
        }
      }),
    );
    return errors;
  };
  try {
    await runFor(settings.smallWarmupMs);
    if (warmUpOnly) return undefined;
    const latencies = [];
    const cpu0 = middlePids.map(procCpuMs);
    const t = performance.now();
    const errors = await runFor(settings.smallMeasureMs, latencies);
    const seconds = (performance.now() - t) / 1000;
    const middleCpuMs = middlePids.reduce((sum, pid, i) => sum + procCpuMs(pid) - cpu0[i], 0);
    latencies.sort((a, b) => a - b);
    return {
      requests: latencies.length,
      errors,
      reqPerSec: latencies.length / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      // CPU the roles between caller and target (proxy; control plane + agent) spent per request.
      cpuMsPerRequestInHop: middlePids.length ? middleCpuMs / latencies.length : null,
    };
  } finally {
    await pool.close();
  }
}

export async function small(s) {
  const rows = [];
  // Every path warmed at concurrency 64 first: the concurrency-1 rows come first, and their own
  // warm-up (a few hundred calls) left the JIT cold enough to add ~0.5 ms to p50 on every path.
  for (const base of [s.targetUrl, s.proxyUrl, s.tunnelUrl])
    await smallRequests(base, 64, [], { warmUpOnly: true });
  for (const concurrency of [1, 64]) {
    for (const [path, base, middle] of [
      ['direct', s.targetUrl, []],
      ['proxy', s.proxyUrl, [s.proxy.pid]],
      ['tunnel', s.tunnelUrl, [s.cp.role.pid, s.agent.pid]],
    ]) {
      const r = await smallRequests(base, concurrency, middle);
      rows.push({ path, concurrency, ...r });
      process.stdout.write(
        `   c=${concurrency} ${path}: ${r.reqPerSec.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms\n`,
      );
    }
  }
  return rows;
}

/** CPU time (user + system) this process has used so far, in ms. */
function callerCpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export async function transfers(s) {
  const pids = [s.cp.role.pid, s.agent.pid];
  // "Idle" is after one call each way on every path (the tunnel's were made when the stack started).
  for (const base of [s.targetUrl, s.proxyUrl]) {
    await download(base, MiB);
    await upload(base, MiB);
  }
  await getJson(`${s.cp.frontUrl}/bench/gc`, 'POST');
  await sleep(500);
  const idle = { controlPlane: procMemory(s.cp.role.pid).rss, agent: procMemory(s.agent.pid).rss };
  const rows = [];
  for (const [kind, fn] of [
    ['response', download],
    ['requestBody', upload],
  ]) {
    for (const [path, base] of [
      ['direct', s.targetUrl],
      ['proxy', s.proxyUrl],
      ['tunnel', s.tunnelUrl],
    ]) {
      // CPU per MiB of every role on the path (the caller is this process), to tell a path limited
      // by CPU from one limited by waiting: on 2 cores the roles' CPU per second cannot pass 2000 ms.
      const hop = {
        direct: {},
        proxy: { proxy: s.proxy.pid },
        tunnel: { controlPlane: s.cp.role.pid, agent: s.agent.pid },
      }[path];
      const onPath = Object.entries({ target: s.target.pid, ...hop });
      const cpuNow = () => ({
        caller: callerCpuMs(),
        ...Object.fromEntries(onPath.map(([role, pid]) => [role, procCpuMs(pid)])),
      });
      const cpu0 = cpuNow();
      const { value: seconds, peaks } = await peakRssDuring(pids, async () => {
        const t = performance.now();
        await fn(base, settings.bigBytes);
        return (performance.now() - t) / 1000;
      });
      const cpu1 = cpuNow();
      const mib = settings.bigBytes / MiB;
      const row = {
        kind,
        path,
        bytes: settings.bigBytes,
        seconds,
        mibPerSecond: mib / seconds,
        cpuMsPerMib: Object.fromEntries(
          Object.keys(cpu0).map((role) => [role, (cpu1[role] - cpu0[role]) / mib]),
        ),
      };
      if (path === 'tunnel') {
        row.controlPlanePeakRss = peaks[s.cp.role.pid];
        row.agentPeakRss = peaks[s.agent.pid];
        row.controlPlaneGrowth = row.controlPlanePeakRss - idle.controlPlane;
        row.agentGrowth = row.agentPeakRss - idle.agent;
      }
      rows.push(row);
      process.stdout.write(`   ${kind} ${path}: ${row.mibPerSecond.toFixed(0)} MiB/s\n`);
    }
  }
  for (const r of rows) {
    const direct = rows.find((d) => d.kind === r.kind && d.path === 'direct');
    r.ratioToDirect = r.mibPerSecond / direct.mibPerSecond;
  }
  return { idleRss: idle, rows };
}

/** 8 downloads at once; aggregate MiB/s over the wall time of all 8. */
async function eightDownloads(base) {
  const t = performance.now();
  await Promise.all(Array.from({ length: 8 }, () => download(base, settings.holBytesPerStream)));
  return (8 * settings.holBytesPerStream) / MiB / ((performance.now() - t) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function headOfLine(s) {
  const free = [];
  const withPaused = [];
  const paused = [];
  for (let round = 0; round < settings.holRounds; round++) {
    free.push(await eightDownloads(s.tunnelUrl));
    // The 9th stream: headers read, body never read. The front sees back-pressure from its socket
    // and stops reading the tunnel stream, whose window then fills.
    const u = new URL(`${s.tunnelUrl}/bytes?n=${1024 * MiB}`);
    const res = await loadAgent.request({
      origin: u.origin,
      path: u.pathname + u.search,
      method: 'GET',
      headers: { 'x-bench-track': '1' },
    });
    let last = -1;
    await until(async () => {
      const t = await getJson(`${s.cp.frontUrl}/bench/tracked`);
      const settled = t.open === 1 && t.lastBuffered > 0 && t.lastBuffered === last;
      last = t.lastBuffered;
      if (!settled) await sleep(150);
      return settled;
    }, "the paused stream's window to fill");
    withPaused.push(await eightDownloads(s.tunnelUrl));
    const t = await getJson(`${s.cp.frontUrl}/bench/tracked`);
    paused.push({ maxBuffered: t.maxBuffered, window: t.window, stillOpen: t.open === 1 });
    res.body.destroy();
    await until(
      async () => (await getJson(`${s.cp.frontUrl}/bench/stats`)).streamsInFlight === 0,
      'streams to end',
    );
  }
  const window = paused[0].window;
  return {
    eightAloneMiBps: median(free),
    eightWithPausedMiBps: median(withPaused),
    ratio: median(withPaused) / median(free),
    rounds: { free, withPaused, paused },
    pausedMaxBuffered: Math.max(...paused.map((p) => p.maxBuffered)),
    window,
    bound: window + 16 * KiB,
    pausedStayedOpen: paused.every((p) => p.stillOpen),
  };
}

/** This process's hard limit on open files: one control plane cannot hold more agent sockets. */
function fileLimit() {
  const out = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
}

/** The levels to measure: `settings.idleCounts`, the last capped below the open-file limit. */
export function idleLevels(counts = settings.idleCounts) {
  const ceiling = fileLimit() - 100;
  return counts.map((c) => Math.min(c, ceiling)).filter((c, i, all) => c > 0 && all.indexOf(c) === i);
}

export async function idleAgents(counts = idleLevels()) {
  const cp = await startControlPlane('control-plane (idle agents)');
  const stats = () => getJson(`${cp.frontUrl}/bench/stats`);
  const gcStats = async () => {
    await getJson(`${cp.frontUrl}/bench/gc`, 'POST');
    await sleep(200);
    return stats();
  };
  const cpuWindow = async () => {
    const a = await stats();
    await sleep(settings.idleWindowMs);
    const b = await stats();
    return (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1000; // ms
  };
  await sleep(1000);
  const base = await gcStats();
  const baseCpuMs = await cpuWindow();
  const levels = [];
  const swarms = [];
  let connected = 0;
  /** The level that did not hold (and why): the levels below it are still reported. */
  let failed;
  try {
    for (const count of counts) {
      try {
        levels.push(await idleLevel(count));
      } catch (err) {
        failed = { agents: count, error: err instanceof Error ? err.message : String(err) };
        process.stdout.write(`   ${count} agents: not measured: ${failed.error.slice(0, 500)}\n`);
        break;
      }
    }
  } finally {
    await Promise.all([...swarms, cp.role].map((r) => r.stop()));
  }
  return {
    base: { rss: base.rss, heapUsed: base.heapUsed, cpuMsInWindow: baseCpuMs },
    heartbeatMs: settings.heartbeatMs,
    openFileLimit: fileLimit(),
    levels,
    ...(failed ? { failed } : {}),
  };

  async function idleLevel(count) {
    const t = performance.now();
    const starting = [];
    while (connected < count) {
      const add = Math.min(settings.swarmChunk, count - connected);
      const swarm = startRole(`agent swarm ${connected}+${add}`, join(benchDir, 'agent-swarm.mjs'), {
        args: [cp.url, String(add), `idle${connected}`],
        env: { BENCH_CLIENT_ID: cp.clientId, BENCH_CLIENT_SECRET: cp.clientSecret },
      });
      swarms.push(swarm);
      starting.push(
        swarm
          .waitFor('ready', () => true, 300_000)
          .then((ready) => {
            if (ready.connected !== add) throw new Error(`swarm connected ${ready.connected} of ${add}`);
          }),
      );
      connected += add;
    }
    await Promise.all(starting);
    const connectMs = performance.now() - t;
    await until(async () => (await stats()).connections === count, `${count} connections`, 60_000).catch(
      (err) => {
        // Who dropped the missing ones (each swarm's last "dropped" line), to say why.
        const why = swarms.map((w) => w.lines.findLast((l) => l.json?.msg === 'dropped')?.raw ?? 'none');
        throw new Error(`${err.message}; connections dropped after WELCOME, per swarm: ${why.join(', ')}`);
      },
    );
    // Past the first heartbeat rounds on every connection, so the figures are steady-state.
    await sleep(3 * settings.heartbeatMs);
    const m = await gcStats();
    const cpuMs = await cpuWindow();
    const after = await stats();
    if (after.connections !== count)
      throw new Error(`${after.connections} of ${count} agents still connected`);
    const heartbeatCpuMsPerSecond = (cpuMs - baseCpuMs) / (settings.idleWindowMs / 1000);
    const level = {
      agents: count,
      connectMs,
      rss: m.rss,
      heapUsed: m.heapUsed,
      rssPerAgent: (m.rss - base.rss) / count,
      heapPerAgent: (m.heapUsed - base.heapUsed) / count,
      externalPerAgent: (m.external - base.external) / count,
      cpuMsInWindow: cpuMs,
      heartbeatCpuMsPerSecond,
      heartbeatCorePercent: heartbeatCpuMsPerSecond / 10,
    };
    const l = level;
    process.stdout.write(
      `   ${count} agents: RSS ${mb(m.rss)} MiB (${(l.rssPerAgent / KiB).toFixed(1)} KiB each), heap ${mb(m.heapUsed)} MiB (${(l.heapPerAgent / KiB).toFixed(1)} KiB each), CPU ${cpuMs.toFixed(0)} ms in ${settings.idleWindowMs / 1000} s, connected in ${(connectMs / 1000).toFixed(1)} s\n`,
    );
    return level;
  }
}
