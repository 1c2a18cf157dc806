// Engine benchmark: N deployments (default 1,000) each waiting on a webhook callback; then a
// restart that resumes them all; then every callback settled. Reports deployments/s started and
// settled, control-plane memory per waiting deployment (while they wait, and again after the
// restart resumed them), and the restart's resume time (and per 10,000).
// Run after a build: `pnpm exec tsc -b && node test/bench/engine-bench.mjs [--json]` (--json: the
// results as one JSON line, last; run.mjs --only engine reads it).
//
// BENCH_DEPLOYMENTS=N sets N. BENCH_STORE=postgres (or --store postgres) runs it on PostgreSQL
// instead of SQLite: a database of its own (BENCH_PG_DATABASE, default bench_engine_<pid>) is
// created through BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres, the test
// suite's) and dropped at the end, so nothing else on that server is touched. BENCH_SERVER_ROOT
// points at another built checkout whose control plane is measured (A/B: the same bench, an
// old build and a new one back to back). Every deployment is started for real through the API
// (no rows are seeded by hand): what the restart resumes is exactly what the engine wrote.
// BENCH_SEED=inprocess starts them instead in a control plane process of the same build and
// configuration through its engine (engine-seeder.mjs: parse the file, `engine.start`, as the
// route does; only HTTP is skipped), for 100,000 on a busy machine: the rows are still the
// engine's own, the webhook calls still made; the memory figures are then that process's, and
// the start rate is the in-process one (said in the output). BENCH_SETTLE=K settles only the
// first K (at most 1,000) callbacks after the restart (default all N) and checks those K succeed: at 100,000 the
// settling would take longer than the rest; the settle rate is then over those K.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.BENCH_DEPLOYMENTS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const root = fileURLToPath(new URL('../../', import.meta.url));
const serverRoot = process.env.BENCH_SERVER_ROOT ?? root;
const requireCp = createRequire(join(root, 'packages/control-plane/package.json'));
const storeFlag = process.argv.indexOf('--store');
const STORE = (storeFlag >= 0 ? process.argv[storeFlag + 1] : process.env.BENCH_STORE) ?? 'sqlite';
if (STORE !== 'sqlite' && STORE !== 'postgres') throw new Error(`--store: sqlite or postgres, not ${STORE}`);
const TOKEN = 'bench-token-0123456789abcdef';

const held = [];
const hooks = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(202).end();
    try {
      held.push(JSON.parse(Buffer.concat(chunks).toString()).callbackUri);
    } catch {}
  });
});
// Keep idle sockets open longer than the client does, so a reused socket is never reset under load.
hooks.keepAliveTimeout = 120_000;
await new Promise((r) => hooks.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${hooks.address().port}`;
const port = await new Promise((r) => {
  const s = netServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'brl-bench-'));
const serverInspectPort = await new Promise((r) => {
  const s = netServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});

// PostgreSQL: a database of this run's own, created now and dropped at the end.
const pgAdminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pgDatabase = process.env.BENCH_PG_DATABASE ?? `bench_engine_${process.pid}`;
let databaseUrl;
async function pgAdmin(sql) {
  const { Client } = requireCp('pg');
  const client = new Client({ connectionString: pgAdminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
if (STORE === 'postgres') {
  if (!/^[a-z_][a-z0-9_]*$/.test(pgDatabase)) throw new Error(`BENCH_PG_DATABASE: ${pgDatabase}`);
  await pgAdmin(`DROP DATABASE IF EXISTS ${pgDatabase}`);
  await pgAdmin(`CREATE DATABASE ${pgDatabase}`);
  const u = new URL(pgAdminUrl);
  u.pathname = `/${pgDatabase}`;
  databaseUrl = u.toString();
}

const SEED = process.env.BENCH_SEED === 'inprocess';

function startServer({ seeder = false } = {}) {
  const began = performance.now();
  // The inspector lets the bench ask the server for a full garbage collection before it reads
  // memory (what is retained, not garbage not yet collected); RSS is read before it too.
  const inspectPort = serverInspectPort;
  const entry = seeder
    ? join(root, 'test/bench/engine-seeder.mjs')
    : join(serverRoot, 'packages/control-plane/bin/borealis-server.js');
  const args = [`--inspect=127.0.0.1:${inspectPort}`, entry];
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH,
      ...(databaseUrl ? { BOREALIS_DATABASE_URL: databaseUrl } : {}),
      BOREALIS_PORT: String(port),
      BOREALIS_PUBLIC_URL: base,
      BOREALIS_DATA_DIR: dataDir,
      BOREALIS_API_TOKEN: TOKEN,
      BOREALIS_DIRECT_ALLOW: '127.0.0.1/32',
      BOREALIS_LOG_LEVEL: 'info',
      // An experiment's switch passes through: how often leases are renewed (every third of it).
      ...(process.env.BOREALIS_LEASE_TIME ? { BOREALIS_LEASE_TIME: process.env.BOREALIS_LEASE_TIME } : {}),
      ...(seeder ? { BENCH_SEEDER_ROOT: serverRoot } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe', ...(seeder ? ['ipc'] : [])],
  });
  let rest = '';
  const logs = [];
  const waiters = [];
  child.stdout.on('data', (b) => {
    const parts = (rest + b).split('\n');
    rest = parts.pop();
    for (const line of parts) {
      if (!line.startsWith('{')) continue;
      try {
        const j = JSON.parse(line);
        if (j.msg === 'listening' || j.msg === 'deployments resumed')
          logs.push({ ...j, t: performance.now() });
      } catch {}
    }
    for (const w of waiters.splice(0)) w();
  });
  // The last of its stderr is kept: a server that exits says why in the bench's error.
  let stderrTail = '';
  child.stderr.on('data', (b) => {
    stderrTail = (stderrTail + b).slice(-4000);
  });
  // A server that exits wakes its waiters, which then fail instead of waiting for good.
  child.once('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (msg) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = logs.find((l) => l.msg === msg);
        if (hit) return resolve(hit);
        if (child.exitCode !== null || child.signalCode !== null)
          return reject(new Error(`server exited (${child.exitCode ?? child.signalCode}): ${stderrTail}`));
        waiters.push(check);
      };
      check();
    });
  return { child, began, waitFor, inspectPort };
}

/** A full GC in the server (Chrome DevTools protocol, through its inspector). */
async function collectGarbage(server) {
  const WebSocket = requireCp('ws');
  const [target] = await (await fetch(`http://127.0.0.1:${server.inspectPort}/json/list`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await new Promise((resolve) => {
    ws.on('message', (m) => {
      if (JSON.parse(m.toString()).id === 1) resolve();
    });
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  ws.close();
}

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

// The control plane's JS heap in use (prom-client's default metrics), beside the RSS.
async function heapUsedKb() {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const m = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(await res.text());
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function pool(count, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}
async function until(fn, what, timeoutMs = Math.max(300_000, N * 10)) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}
// The list answers at most 1,000 deployments, so "all N succeeded" is asked as "none is in any
// other status" (one row at most), which holds for any N.
async function noneUnsucceeded() {
  const others = 'QUEUED,RUNNING,PAUSED,AWAITING_APPROVAL,FAILED,CANCELLED,ROLLED_BACK';
  const { deployments } = await api('GET', `/api/v1/deployments?status=${others}&limit=1`);
  return deployments.length === 0;
}

/** How many deployments succeeded (SUCCEEDED is final: only those settled here can be). */
async function succeededCount() {
  const { deployments } = await api('GET', '/api/v1/deployments?status=SUCCEEDED&limit=1000');
  return deployments.length;
}

const file = (i) => `application: bench-${i}
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  prod:
    constraints:
      beforeDeployment:
        - runWebhook:
            name: gate
webhooks:
  - name: gate
    method: POST
    uriTemplate: ${hookUrl}/gate
    networkMode: direct
    headers:
      - key: Content-Type
        value: application/json
    bodyTemplate:
      inline: '{"callbackUri": "{{armory.callbackUri}}/callback"}'
`;

let server = startServer({ seeder: SEED });
await server.waitFor('listening');
await api('GET', '/api/v1/deployments'); // warm up
await sleep(500);
await collectGarbage(server);
const rssBefore = rssKb(server.child.pid);
const heapBefore = await heapUsedKb();

const t0 = performance.now();
if (SEED) {
  const done = new Promise((resolve, reject) => {
    server.child.on('message', (m) => m.seeded && resolve(m));
    server.child.once('exit', () => reject(new Error('the seeding control plane exited')));
  });
  server.child.send({ count: N, concurrency: CONCURRENCY, template: file('@I@') });
  await done;
} else await pool(N, (i) => api('POST', '/api/v1/deployments', { deployFile: file(i) }));
const accepted = performance.now();
await until(() => held.length >= N, 'every webhook call');
const allWaiting = performance.now();
await sleep(500);
const rssWaiting = rssKb(server.child.pid);
await collectGarbage(server);
const rssWaitingGc = rssKb(server.child.pid);
const heapWaiting = await heapUsedKb();

// Restart: SIGKILL, start on the same database, time until every deployment is resumed.
server.child.kill('SIGKILL');
await new Promise((r) => server.child.once('exit', r));
server = startServer();
const resumed = await server.waitFor('deployments resumed');
const restartWallMs = resumed.t - server.began;
await sleep(500);
// Against the first server before any start: both are fresh processes on the same code.
await collectGarbage(server);
const rssResumed = rssKb(server.child.pid);
const heapResumed = await heapUsedKb();

// A sample is counted through the list, which answers at most 1,000.
const SETTLE = process.env.BENCH_SETTLE ? Math.min(N, 1000, Number(process.env.BENCH_SETTLE)) : N;
const t1 = performance.now();
await pool(SETTLE, async (i) => {
  const res = await fetch(held[i], {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"success": true}',
  });
  await res.text();
  if (res.status !== 200) throw new Error(`callback ${i}: ${res.status}`);
});
if (SETTLE === N) await until(noneUnsucceeded, 'every deployment to succeed');
else await until(async () => (await succeededCount()) >= SETTLE, `${SETTLE} deployments to succeed`);
const settled = performance.now();

const results = {
  scenario: 'engine: N deployments each waiting on a webhook callback',
  database: STORE,
  deployments: N,
  started: SEED ? 'in-process engine.start (BENCH_SEED=inprocess)' : 'POST /api/v1/deployments',
  concurrency: CONCURRENCY,
  startAcceptedPerSecond: Math.round((N / (accepted - t0)) * 1000),
  startedToWaitingPerSecond: Math.round((N / (allWaiting - t0)) * 1000),
  settled: SETTLE,
  settledPerSecond: Math.round((SETTLE / (settled - t1)) * 1000),
  memoryPerWaitingDeploymentKb: Math.round(((rssWaiting - rssBefore) / N) * 10) / 10,
  rssBeforeMb: Math.round(rssBefore / 1024),
  rssWaitingMb: Math.round(rssWaiting / 1024),
  memoryPerWaitingDeploymentAfterGcKb: Math.round(((rssWaitingGc - rssBefore) / N) * 10) / 10,
  heapPerWaitingDeploymentKb: Math.round(((heapWaiting - heapBefore) / N) * 10) / 10,
  memoryPerResumedDeploymentKb: Math.round(((rssResumed - rssBefore) / N) * 10) / 10,
  heapPerResumedDeploymentKb: Math.round(((heapResumed - heapBefore) / N) * 10) / 10,
  rssResumedMb: Math.round(rssResumed / 1024),
  memoryGoalKb: 16,
  memoryGoalMet: (rssWaiting - rssBefore) / N <= 16,
  restartResumeMs: resumed.durationMs,
  restartWallMs: Math.round(restartWallMs),
  resumePer10kMs: Math.round((resumed.durationMs / N) * 10_000),
  restartWallPer10kMs: Math.round((restartWallMs / N) * 10_000),
  resumed: resumed.resumed,
  // The engine's own split of the resume (ms), when it logs one.
  resumeSplit: Object.fromEntries(
    ['list', 'claim', 'read', 'runs', 'step', 'write', 'parked']
      .filter((k) => k in resumed)
      .map((k) => [k, resumed[k]]),
  ),
  restartGoalMs: 5000,
  restartGoalPer: 10_000,
  restartGoalMet: (restartWallMs / N) * 10_000 < 5000,
  at: new Date().toISOString(),
  node: process.version,
  server: serverRoot,
};

const rows = [
  ['deployments', `${N} (${STORE})`],
  ['started (accepted) /s', String(results.startAcceptedPerSecond)],
  ['started to webhook wait /s', String(results.startedToWaitingPerSecond)],
  ['settled /s', `${results.settledPerSecond} (${SETTLE} settled)`],
  [
    'memory per waiting deployment',
    `${results.memoryPerWaitingDeploymentKb} KiB (RSS ${results.rssBeforeMb} -> ${results.rssWaitingMb} MiB) (goal <= 16); after a full GC ${results.memoryPerWaitingDeploymentAfterGcKb} KiB RSS, ${results.heapPerWaitingDeploymentKb} KiB JS heap`,
  ],
  [
    'memory per resumed deployment',
    `${results.memoryPerResumedDeploymentKb} KiB RSS (${results.rssBeforeMb} -> ${results.rssResumedMb} MiB), ${results.heapPerResumedDeploymentKb} KiB JS heap (after the restart and a full GC)`,
  ],
  ['restart: resume all', `${results.restartResumeMs} ms (engine), ${results.restartWallMs} ms from spawn`],
  ['restart: split', JSON.stringify(results.resumeSplit)],
  [
    'restart: per 10,000',
    `${results.resumePer10kMs} ms (engine), ${results.restartWallPer10kMs} ms from spawn (goal < 5000)`,
  ],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
mkdirSync(join(root, 'test/bench/results'), { recursive: true });
const out = join(root, 'test/bench/results', `engine-${results.at.replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`results: ${out}`);

server.child.kill('SIGTERM');
await new Promise((r) => server.child.once('exit', r));
hooks.close();
rmSync(dataDir, { recursive: true, force: true });
if (STORE === 'postgres') await pgAdmin(`DROP DATABASE IF EXISTS ${pgDatabase}`);
if (process.argv.includes('--json')) console.log(JSON.stringify(results));
process.exit(results.resumed === N ? 0 : 1);
