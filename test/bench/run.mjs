// `pnpm bench`: the tunnel measured side by side with a direct call and a plain reverse-proxy hop,
// every role its own OS process, every figure from this one run. Prints tables and writes JSON to
// test/bench/results/<timestamp>.json. Roles: target (node:http), proxy (node:http + undici),
// control plane with a bench-only front (control-plane-front.mjs), the real agent program, agent
// swarms (agent-swarm.mjs); this process is the load generator.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Agent, Pool } from 'undici';
import {
  benchDir,
  KiB,
  killAllRolesSync,
  MiB,
  mb,
  peakRssDuring,
  percentile,
  procCpuMs,
  procMemory,
  repoRoot,
  sleep,
  startRole,
  stopAllRoles,
  table,
} from './lib.mjs';

const IDENTIFIER = 'bench-rna';
const SMALL_BODY = Buffer.alloc(KiB, 0x62);
const BIG = 256 * MiB;
const HOL_EACH = 32 * MiB;
const HOL_ROUNDS = 3;
const SMALL_WARMUP_MS = 1000;
const SMALL_MEASURE_MS = 4000;
const IDLE_WINDOW_MS = 10_000;
const IDLE_COUNTS = [1000, 5000];
/** The whole run must fit in 10 minutes (issue 3, acceptance 6); stop hard a little before. */
const HARD_LIMIT_MS = 9.5 * 60_000;

const started = Date.now();
const timings = {};
const results = {
  date: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    // The machine may be shared: the load average says how busy it was around the run.
    loadAverageAtStart: os.loadavg(),
  },
  settings: {
    smallBodyBytes: SMALL_BODY.length,
    smallWarmupMs: SMALL_WARMUP_MS,
    smallMeasureMs: SMALL_MEASURE_MS,
    bigBytes: BIG,
    holBytesPerStream: HOL_EACH,
    holRounds: HOL_ROUNDS,
    idleWindowMs: IDLE_WINDOW_MS,
    logLevel: 'warn (control plane and agent; the proxy does not log)',
  },
};

const hardStop = setTimeout(() => {
  console.error(`bench: still running after ${HARD_LIMIT_MS / 60_000} minutes; stopping every role`);
  killAllRolesSync();
  process.exit(1);
}, HARD_LIMIT_MS);
process.on('exit', killAllRolesSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAllRolesSync();
    process.exit(130);
  });
}

async function timed(name, fn) {
  const t = Date.now();
  process.stdout.write(`\n== ${name}\n`);
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - t;
    process.stdout.write(`   (${((Date.now() - t) / 1000).toFixed(1)} s)\n`);
  }
}

const loadAgent = new Agent({ connections: 128 });

async function getJson(url, method = 'GET') {
  const res = await loadAgent.request({ origin: new URL(url).origin, path: new URL(url).pathname, method });
  return res.body.json();
}

async function until(fn, what, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// ---- the roles ---------------------------------------------------------------------------------

async function startControlPlane(name, targetUrl) {
  const role = startRole(name, join(benchDir, 'control-plane-front.mjs'), {
    nodeArgs: ['--expose-gc'],
    args: targetUrl ? [targetUrl] : [],
    env: { BENCH_AGENT_IDENTIFIER: IDENTIFIER },
  });
  const ready = await role.waitFor('ready');
  return { role, ...ready };
}

async function startStack() {
  const target = startRole('target', join(benchDir, 'target.mjs'));
  const targetUrl = `http://127.0.0.1:${(await target.waitFor('listening')).port}`;
  const proxy = startRole('proxy', join(benchDir, 'proxy.mjs'), { args: [targetUrl] });
  const proxyUrl = `http://127.0.0.1:${(await proxy.waitFor('listening')).port}`;
  const cp = await startControlPlane('control-plane', targetUrl);
  const agent = startRole('agent', join(repoRoot, 'packages/agent/bin/borealis-agent.js'), {
    env: {
      BOREALIS_CONTROL_PLANE_URL: cp.url,
      BOREALIS_AGENT_IDENTIFIER: IDENTIFIER,
      BOREALIS_CLIENT_ID: cp.clientId,
      BOREALIS_CLIENT_SECRET: cp.clientSecret,
      BOREALIS_ALLOW: '127.0.0.1/32',
      BOREALIS_AGENT_HEALTH_PORT: '0',
      BOREALIS_LOG_LEVEL: 'warn',
    },
  });
  await until(async () => (await getJson(`${cp.frontUrl}/bench/stats`)).connections === 1, 'the agent');
  return { target, targetUrl, proxy, proxyUrl, cp, agent, tunnelUrl: cp.frontUrl };
}

// ---- load ----------------------------------------------------------------------------------------

async function download(base, bytes, headers = {}) {
  const u = new URL(`${base}/bytes?n=${bytes}`);
  const res = await loadAgent.request({
    origin: u.origin,
    path: u.pathname + u.search,
    method: 'GET',
    headers,
  });
  let got = 0;
  for await (const chunk of res.body) got += chunk.length;
  if (res.statusCode !== 200 || got !== bytes)
    throw new Error(`download from ${base}: ${res.statusCode}, ${got} bytes`);
}

async function* repeated(bytes) {
  const block = Buffer.alloc(64 * KiB, 0x63);
  for (let left = bytes; left > 0; left -= block.length)
    yield left >= block.length ? block : block.subarray(0, left);
}

async function upload(base, bytes) {
  const u = new URL(`${base}/sink`);
  const res = await loadAgent.request({
    origin: u.origin,
    path: u.pathname,
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
    body: repeated(bytes),
  });
  const answer = await res.body.json();
  if (res.statusCode !== 200 || answer.bytes !== bytes) {
    throw new Error(`upload to ${base}: ${res.statusCode} ${JSON.stringify(answer)}`);
  }
}

/** Closed-loop load: `concurrency` callers each sending 1 KiB POSTs back to back. */
async function smallRequests(base, concurrency, middlePids) {
  const pool = new Pool(base, { connections: concurrency, pipelining: 1 });
  const one = async () => {
    const res = await pool.request({
      path: '/echo',
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(SMALL_BODY.length) },
      body: SMALL_BODY,
    });
    const body = await res.body.arrayBuffer();
    if (res.statusCode !== 200 || body.byteLength !== SMALL_BODY.length)
      throw new Error(`echo: ${res.statusCode}`);
  };
  const runFor = async (ms, latencies) => {
    const end = performance.now() + ms;
    let errors = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          try {
            await one();
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
    await runFor(SMALL_WARMUP_MS);
    const latencies = [];
    const cpu0 = middlePids.map(procCpuMs);
    const t = performance.now();
    const errors = await runFor(SMALL_MEASURE_MS, latencies);
    const seconds = (performance.now() - t) / 1000;
    const middleCpuMs = middlePids.reduce((sum, pid, i) => sum + procCpuMs(pid) - cpu0[i], 0);
    latencies.sort((a, b) => a - b);
    return {
      requests: latencies.length,
      errors,
      rps: latencies.length / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      // CPU the roles between caller and target (proxy; control plane + agent) spent per request.
      middleCpuMsPerRequest: middlePids.length ? middleCpuMs / latencies.length : 0,
    };
  } finally {
    await pool.close();
  }
}

/** 8 downloads at once; aggregate MiB/s over the wall time of all 8. */
async function eightDownloads(base) {
  const t = performance.now();
  await Promise.all(Array.from({ length: 8 }, () => download(base, HOL_EACH)));
  return (8 * HOL_EACH) / MiB / ((performance.now() - t) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- scenarios -----------------------------------------------------------------------------------

async function transfers(s) {
  const pids = [s.cp.role.pid, s.agent.pid];
  // "Idle" is after one small call each way on every path: code loaded on first use (the agent's
  // undici client, for one) is not growth caused by a transfer.
  for (const base of [s.targetUrl, s.proxyUrl, s.tunnelUrl]) {
    await download(base, MiB);
    await upload(base, MiB);
  }
  await getJson(`${s.cp.frontUrl}/bench/gc`, 'POST');
  await sleep(500);
  const idle = { controlPlane: procMemory(s.cp.role.pid).rss, agent: procMemory(s.agent.pid).rss };
  const rows = [];
  for (const [kind, fn] of [
    ['256 MiB response', download],
    ['256 MiB request body', upload],
  ]) {
    for (const [path, base] of [
      ['direct', s.targetUrl],
      ['proxy', s.proxyUrl],
      ['tunnel', s.tunnelUrl],
    ]) {
      const { value: seconds, peaks } = await peakRssDuring(pids, async () => {
        const t = performance.now();
        await fn(base, BIG);
        return (performance.now() - t) / 1000;
      });
      const row = { kind, path, seconds, mibPerSecond: BIG / MiB / seconds };
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

async function headOfLine(s) {
  const free = [];
  const withPaused = [];
  const paused = [];
  for (let round = 0; round < HOL_ROUNDS; round++) {
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
  const maxBuffered = Math.max(...paused.map((p) => p.maxBuffered));
  return {
    eightAloneMiBps: median(free),
    eightWithPausedMiBps: median(withPaused),
    ratio: median(withPaused) / median(free),
    rounds: { free, withPaused, paused },
    pausedMaxBuffered: maxBuffered,
    window,
    bound: window + 16 * KiB,
    pausedStayedOpen: paused.every((p) => p.stillOpen),
  };
}

async function small(s) {
  const rows = [];
  for (const concurrency of [1, 64]) {
    for (const [path, base, middle] of [
      ['direct', s.targetUrl, []],
      ['proxy', s.proxyUrl, [s.proxy.pid]],
      ['tunnel', s.tunnelUrl, [s.cp.role.pid, s.agent.pid]],
    ]) {
      const r = await smallRequests(base, concurrency, middle);
      rows.push({ path, concurrency, ...r });
      process.stdout.write(
        `   c=${concurrency} ${path}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms\n`,
      );
    }
  }
  const ratios = {};
  for (const concurrency of [1, 64]) {
    const at = (p) => rows.find((r) => r.path === p && r.concurrency === concurrency);
    ratios[`c${concurrency}`] = {
      tunnelToDirect: at('tunnel').rps / at('direct').rps,
      tunnelToProxy: at('tunnel').rps / at('proxy').rps,
    };
  }
  return { rows, ratios };
}

async function idleAgents() {
  const cp = await startControlPlane('control-plane (idle agents)');
  const stats = () => getJson(`${cp.frontUrl}/bench/stats`);
  const gcStats = async () => {
    await getJson(`${cp.frontUrl}/bench/gc`, 'POST');
    await sleep(200);
    return stats();
  };
  const cpuWindow = async () => {
    const a = await stats();
    await sleep(IDLE_WINDOW_MS);
    const b = await stats();
    return (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1000; // ms
  };
  await sleep(1000);
  const base = await gcStats();
  const baseCpuMs = await cpuWindow();
  const levels = [];
  let connected = 0;
  for (const count of IDLE_COUNTS) {
    const add = count - connected;
    const swarm = startRole(`agent swarm +${add}`, join(benchDir, 'agent-swarm.mjs'), {
      args: [cp.url, String(add), `idle${count}`],
      env: { BENCH_CLIENT_ID: cp.clientId, BENCH_CLIENT_SECRET: cp.clientSecret },
    });
    const ready = await swarm.waitFor('ready', () => true, 120_000);
    if (ready.connected !== add) throw new Error(`swarm connected ${ready.connected} of ${add}`);
    connected = count;
    await until(async () => (await stats()).connections === count, `${count} connections`, 30_000);
    // Past the first heartbeat round on every connection, so the figures are steady-state.
    await sleep(6000);
    const m = await gcStats();
    const cpuMs = await cpuWindow();
    const after = await stats();
    if (after.connections !== count)
      throw new Error(`${after.connections} of ${count} agents still connected`);
    levels.push({
      agents: count,
      connectMs: ready.ms,
      rss: m.rss,
      heapUsed: m.heapUsed,
      rssPerAgent: (m.rss - base.rss) / count,
      heapPerAgent: (m.heapUsed - base.heapUsed) / count,
      externalPerAgent: (m.external - base.external) / count,
      cpuMsInWindow: cpuMs,
      heartbeatCpuMsPerSecond: (cpuMs - baseCpuMs) / (IDLE_WINDOW_MS / 1000),
    });
    process.stdout.write(
      `   ${count} agents: RSS ${mb(m.rss)} MiB (${(levels.at(-1).rssPerAgent / KiB).toFixed(1)} KiB each), heap ${mb(m.heapUsed)} MiB (${(levels.at(-1).heapPerAgent / KiB).toFixed(1)} KiB each), CPU ${cpuMs.toFixed(0)} ms in ${IDLE_WINDOW_MS / 1000} s\n`,
    );
  }
  return { base: { rss: base.rss, heapUsed: base.heapUsed, cpuMsInWindow: baseCpuMs }, levels };
}

// ---- report ------------------------------------------------------------------------------------

function report(r) {
  const out = [];
  const f0 = (x) => x.toFixed(0);
  const f2 = (x) => x.toFixed(2);
  out.push(
    `Borealis bench — ${r.date.slice(0, 10)}, ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}, Linux ${r.machine.kernel}, load average ${r.machine.loadAverageAtStart[0].toFixed(2)} at start, ${r.machine.loadAverageAtEnd[0].toFixed(2)} at end`,
    '',
    '1. Small requests (POST 1 KiB, echoed), closed loop',
  );
  const sr = r.small.rows;
  out.push(
    table(
      [
        'path',
        'concurrency',
        'req/s',
        'p50 ms',
        'p99 ms',
        'tunnel req/s ÷ this',
        'CPU ms/request in the hop',
      ],
      sr.map((x) => {
        const tunnel = sr.find((t) => t.path === 'tunnel' && t.concurrency === x.concurrency);
        return [
          x.path,
          x.concurrency,
          f0(x.rps),
          f2(x.p50Ms),
          f2(x.p99Ms),
          f2(tunnel.rps / x.rps),
          x.path === 'direct' ? '' : f2(x.middleCpuMsPerRequest),
        ];
      }),
    ),
    '',
    `2. 256 MiB through one stream (idle RSS before: control plane ${mb(r.transfers.idleRss.controlPlane)} MiB, agent ${mb(r.transfers.idleRss.agent)} MiB)`,
  );
  out.push(
    table(
      ['transfer', 'path', 'MiB/s', '÷ direct', 'control plane peak RSS (growth)', 'agent peak RSS (growth)'],
      r.transfers.rows.map((x) => [
        x.kind,
        x.path,
        f0(x.mibPerSecond),
        f2(x.ratioToDirect),
        x.controlPlanePeakRss ? `${mb(x.controlPlanePeakRss)} MiB (+${mb(x.controlPlaneGrowth)})` : '',
        x.agentPeakRss ? `${mb(x.agentPeakRss)} MiB (+${mb(x.agentGrowth)})` : '',
      ]),
    ),
    '',
    `3. Head-of-line: 8 tunnel downloads of ${HOL_EACH / MiB} MiB, alone and beside a 9th whose reader is paused (median of ${HOL_ROUNDS})`,
  );
  const h = r.headOfLine;
  out.push(
    table(
      ['case', '8 streams MiB/s', 'ratio', "paused stream's peak bufferedBytes", 'window + 16 KiB'],
      [
        ['8 alone', f0(h.eightAloneMiBps), '1.00', '', ''],
        [
          '8 + 1 paused',
          f0(h.eightWithPausedMiBps),
          f2(h.ratio),
          `${(h.pausedMaxBuffered / KiB).toFixed(1)} KiB`,
          `${(h.bound / KiB).toFixed(0)} KiB`,
        ],
      ],
    ),
    '',
    `4. Idle agents on one control plane (heartbeat every 5 s both ways; base: RSS ${mb(r.idle.base.rss)} MiB, heap ${mb(r.idle.base.heapUsed)} MiB, ${f0(r.idle.base.cpuMsInWindow)} ms CPU per ${IDLE_WINDOW_MS / 1000} s)`,
  );
  out.push(
    table(
      ['agents', 'RSS', 'heap used', 'RSS per agent', 'heap per agent', 'heartbeat CPU'],
      r.idle.levels.map((x) => [
        x.agents,
        `${mb(x.rss)} MiB`,
        `${mb(x.heapUsed)} MiB`,
        `${(x.rssPerAgent / KiB).toFixed(1)} KiB`,
        `${(x.heapPerAgent / KiB).toFixed(1)} KiB`,
        `${f2(x.heartbeatCpuMsPerSecond)} ms/s (${f2(x.heartbeatCpuMsPerSecond / 10)}% of a core)`,
      ]),
    ),
  );
  out.push('', 'Goals:');
  for (const g of r.goals) out.push(`  ${g.met ? 'met   ' : 'MISSED'} ${g.goal}: ${g.figure}`);
  out.push(
    '',
    `Scenario times: ${Object.entries(r.timings)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(', ')}`,
  );
  return out.join('\n');
}

function goals(r) {
  const c64 = r.small.ratios.c64;
  const tunnelRows = r.transfers.rows.filter((x) => x.path === 'tunnel');
  const worstRatio = Math.min(...tunnelRows.map((x) => x.ratioToDirect));
  const maxGrowth = Math.max(...tunnelRows.flatMap((x) => [x.controlPlaneGrowth, x.agentGrowth]));
  const worstPerAgent = Math.max(...r.idle.levels.map((x) => Math.max(x.rssPerAgent, x.heapPerAgent)));
  return [
    {
      goal: 'tunnel at concurrency 64 >= plain proxy hop (req/s)',
      met: c64.tunnelToProxy >= 1,
      figure: `${c64.tunnelToProxy.toFixed(2)}x the proxy`,
    },
    {
      goal: '256 MiB through the tunnel >= half as fast as direct',
      met: worstRatio >= 0.5,
      figure: `worst ${worstRatio.toFixed(2)}x direct`,
    },
    {
      goal: 'RSS growth during a 256 MiB transfer <= 64 MiB (control plane and agent)',
      met: maxGrowth <= 64 * MiB,
      figure: `largest +${mb(maxGrowth)} MiB`,
    },
    {
      goal: 'head-of-line: 8 streams within 10% of their unpaused throughput',
      met: r.headOfLine.ratio >= 0.9,
      figure: `${r.headOfLine.ratio.toFixed(2)}x`,
    },
    {
      goal: "head-of-line: paused stream's bufferedBytes <= window + 16 KiB",
      met: r.headOfLine.pausedMaxBuffered <= r.headOfLine.bound,
      figure: `${(r.headOfLine.pausedMaxBuffered / KiB).toFixed(1)} KiB`,
    },
    {
      goal: 'idle agent < 64 KiB of control-plane memory each',
      met: worstPerAgent < 64 * KiB,
      figure: `worst ${(worstPerAgent / KiB).toFixed(1)} KiB (max of RSS and heap per agent)`,
    },
  ];
}

// ---- main --------------------------------------------------------------------------------------

async function main() {
  const stack = await timed('start roles', startStack);
  results.transfers = await timed('256 MiB transfers', () => transfers(stack));
  results.headOfLine = await timed('head-of-line', () => headOfLine(stack));
  results.small = await timed('small requests', () => small(stack));
  await Promise.all([stack.agent, stack.cp.role, stack.proxy, stack.target].map((r) => r.stop()));
  results.idle = await timed('idle agents', idleAgents);
  results.timings = timings;
  results.totalSeconds = (Date.now() - started) / 1000;
  results.machine.loadAverageAtEnd = os.loadavg();
  results.goals = goals(results);
  const text = report(results);
  process.stdout.write(`\n${text}\n\nTotal ${results.totalSeconds.toFixed(0)} s\n`);
  const dir = join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${results.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  // In the repository's own format, so `biome check .` (part of `pnpm test`) passes with it present.
  spawnSync(join(repoRoot, 'node_modules/.bin/biome'), ['format', '--write', file], { stdio: 'ignore' });
  process.stdout.write(`Results: ${file}\n`);
}

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await stopAllRoles();
  await loadAgent.close().catch(() => {});
  clearTimeout(hardStop);
}
