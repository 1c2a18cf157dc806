// Engine benchmark: N deployments (default 1,000) each waiting on a webhook callback; then a
// restart that resumes them all; then every callback settled. Reports deployments/s started and
// settled, control-plane memory per waiting deployment, and the restart's resume time.
// Run after a build: `pnpm exec tsc -b && node test/bench/engine-bench.mjs [--json]` (--json: the
// results as one JSON line, last; run.mjs --only engine reads it).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.BENCH_DEPLOYMENTS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const root = fileURLToPath(new URL('../../', import.meta.url));
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

function startServer() {
  const began = performance.now();
  const child = spawn(process.execPath, [join(root, 'packages/control-plane/bin/borealis-server.js')], {
    env: {
      PATH: process.env.PATH,
      BOREALIS_PORT: String(port),
      BOREALIS_PUBLIC_URL: base,
      BOREALIS_DATA_DIR: dataDir,
      BOREALIS_API_TOKEN: TOKEN,
      BOREALIS_DIRECT_ALLOW: '127.0.0.1/32',
      BOREALIS_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
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
  child.stderr.on('data', () => {});
  const waitFor = (msg) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = logs.find((l) => l.msg === msg);
        if (hit) return resolve(hit);
        if (child.exitCode !== null) return reject(new Error('server exited'));
        waiters.push(check);
      };
      check();
    });
  return { child, began, waitFor };
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
async function until(fn, what, timeoutMs = 300_000) {
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

let server = startServer();
await server.waitFor('listening');
await api('GET', '/api/v1/deployments'); // warm up
await sleep(500);
const rssBefore = rssKb(server.child.pid);

const t0 = performance.now();
await pool(N, (i) => api('POST', '/api/v1/deployments', { deployFile: file(i) }));
const accepted = performance.now();
await until(() => held.length >= N, 'every webhook call');
const allWaiting = performance.now();
await sleep(500);
const rssWaiting = rssKb(server.child.pid);

// Restart: SIGKILL, start on the same database, time until every deployment is resumed.
server.child.kill('SIGKILL');
await new Promise((r) => server.child.once('exit', r));
server = startServer();
const resumed = await server.waitFor('deployments resumed');
const restartWallMs = resumed.t - server.began;

const t1 = performance.now();
await pool(N, async (i) => {
  const res = await fetch(held[i], {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"success": true}',
  });
  await res.text();
  if (res.status !== 200) throw new Error(`callback ${i}: ${res.status}`);
});
await until(noneUnsucceeded, 'every deployment to succeed');
const settled = performance.now();

const results = {
  scenario: 'engine: N deployments each waiting on a webhook callback',
  database: 'sqlite',
  deployments: N,
  concurrency: CONCURRENCY,
  startAcceptedPerSecond: Math.round((N / (accepted - t0)) * 1000),
  startedToWaitingPerSecond: Math.round((N / (allWaiting - t0)) * 1000),
  settledPerSecond: Math.round((N / (settled - t1)) * 1000),
  memoryPerWaitingDeploymentKb: Math.round(((rssWaiting - rssBefore) / N) * 10) / 10,
  rssBeforeMb: Math.round(rssBefore / 1024),
  rssWaitingMb: Math.round(rssWaiting / 1024),
  restartResumeMs: resumed.durationMs,
  restartWallMs: Math.round(restartWallMs),
  resumed: resumed.resumed,
  restartGoalMs: 5000,
  restartGoalMet: restartWallMs < 5000,
  at: new Date().toISOString(),
  node: process.version,
};

const rows = [
  ['deployments', String(N)],
  ['started (accepted) /s', String(results.startAcceptedPerSecond)],
  ['started to webhook wait /s', String(results.startedToWaitingPerSecond)],
  ['settled /s', String(results.settledPerSecond)],
  [
    'memory per waiting deployment',
    `${results.memoryPerWaitingDeploymentKb} KiB (RSS ${results.rssBeforeMb} -> ${results.rssWaitingMb} MiB)`,
  ],
  [
    'restart: resume all',
    `${results.restartResumeMs} ms (engine), ${results.restartWallMs} ms from spawn (goal < 5000)`,
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
if (process.argv.includes('--json')) console.log(JSON.stringify(results));
process.exit(results.resumed === N ? 0 : 1);
