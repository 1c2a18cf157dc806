// Forwarding benchmark: what a dispatch costs when it goes through a second control-plane replica
// (API on replica 2, agent connected to replica 1: forwarded over NATS) compared with a local one
// (API and agent on replica 1), in the same run, on PostgreSQL + NATS as scale-out runs.
// Run after a build: `pnpm exec tsc -b && node test/bench/forwarding-bench.mjs`.
// Needs PostgreSQL (BOREALIS_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres)
// and NATS (BOREALIS_TEST_NATS_URL, default nats://127.0.0.1:4222). Writes results/forwarding-*.json.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pg = createRequire(join(root, 'packages/control-plane/package.json'))('pg');
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 300);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const LARGE = Number(process.env.BENCH_LARGE_BYTES ?? 4 * 1024 * 1024);
const LARGE_COUNT = Number(process.env.BENCH_LARGE_COUNT ?? 20);
const TOKEN = 'bench-token-0123456789abcdef';
const adminUrl = process.env.BOREALIS_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.BOREALIS_TEST_NATS_URL || 'nats://127.0.0.1:4222';

const children = new Set();
const cleanups = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function start(script, env) {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let buf = '';
  const waiters = [];
  const seen = [];
  const onData = (d) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const j = JSON.parse(line);
        seen.push(j);
        for (const w of [...waiters]) if (w.match(j)) w.resolve(j);
      } catch {}
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return {
    child,
    waitFor(msg, ms = 30_000) {
      const found = seen.find((j) => j.msg === msg);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "${msg}" from ${script}`)), ms);
        waiters.push({
          match: (j) => j.msg === msg,
          resolve: (j) => {
            clearTimeout(t);
            resolve(j);
          },
        });
      });
    },
  };
}

async function api(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

// --- set-up: a target, a database, two replicas, one agent on replica 1 -----------------------
const large = randomBytes(LARGE);
const target = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url === '/large') res.writeHead(200).end(large);
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
await new Promise((r) => target.listen(0, '127.0.0.1', r));
const targetUrl = `http://127.0.0.1:${target.address().port}`;

const dbName = `borealis_bench_${randomBytes(5).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
await admin.end();
const dbUrl = new URL(adminUrl);
dbUrl.pathname = `/${dbName}`;
cleanups.push(async () => {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await c.end();
});

const secretKey = randomBytes(32).toString('base64');
// Start at info only long enough to read the URL; the benchmark itself runs quietly.
async function startReplica(name) {
  const dataDir = mkdtempSync(join(tmpdir(), `brl-fwd-bench-${name}-`));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const p = start(join(root, 'packages/control-plane/bin/borealis-server.js'), {
    BOREALIS_PORT: '0',
    BOREALIS_DATA_DIR: dataDir,
    BOREALIS_API_TOKEN: TOKEN,
    BOREALIS_DATABASE_URL: dbUrl.toString(),
    BOREALIS_NATS_URL: natsUrl,
    BOREALIS_SECRET_KEY: secretKey,
    BOREALIS_REPLICA_ID: name,
    BOREALIS_AGENT_MAX_STREAMS: '1024',
  });
  const { url } = await p.waitFor('listening');
  p.child.stdout.removeAllListeners('data');
  p.child.stdout.resume();
  return { ...p, url };
}

try {
  const r1 = await startReplica('bench-r1');
  const r2 = await startReplica('bench-r2');
  const { json: cred } = await api(r1.url, 'POST', '/api/v1/agent-credentials', {
    name: 'bench',
    allowedIdentifiers: ['bench-rna'],
  });
  const agent = start(join(root, 'packages/agent/bin/borealis-agent.js'), {
    BOREALIS_CONTROL_PLANE_URL: r1.url,
    BOREALIS_AGENT_IDENTIFIER: 'bench-rna',
    BOREALIS_CLIENT_ID: cred.clientId,
    BOREALIS_CLIENT_SECRET: cred.clientSecret,
    BOREALIS_ALLOW: '127.0.0.1/32',
    BOREALIS_AGENT_HEALTH_PORT: '0',
    BOREALIS_AGENT_MAX_STREAMS: '1024',
    BOREALIS_LOG_LEVEL: 'warn',
  });
  void agent;
  for (let i = 0; ; i++) {
    const { json } = await api(r2.url, 'GET', '/api/v1/agents');
    if (json.agents.some((a) => a.agentIdentifier === 'bench-rna')) break;
    if (i > 300) throw new Error('replica 2 never listed the agent');
    await sleep(50);
  }

  const probe = (base, path = '/small') =>
    api(base, 'POST', '/api/v1/agents/bench-rna/probe', { method: 'GET', url: `${targetUrl}${path}` });

  async function sequential(base, n) {
    const times = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const r = await probe(base);
      if (r.status !== 200) throw new Error(`probe failed: ${JSON.stringify(r.json)}`);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { p50: pct(times, 50), p90: pct(times, 90), p99: pct(times, 99) };
  }

  async function parallel(base, n, concurrency, path = '/small') {
    let next = 0;
    let failed = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next++;
          const r = await probe(base, path);
          if (r.status !== 200) failed++;
        }
      }),
    );
    const s = (performance.now() - t) / 1000;
    return { perSecond: n / s, seconds: s, failed };
  }

  // Warm both paths (JIT, connection pools, the forwarding link), then interleave the measurements
  // so neither path gets the quieter half of the run.
  await sequential(r1.url, 30);
  await sequential(r2.url, 30);
  const seq = { local: [], forwarded: [] };
  for (let round = 0; round < 3; round++) {
    seq.local.push(await sequential(r1.url, Math.ceil(SEQUENTIAL / 3)));
    seq.forwarded.push(await sequential(r2.url, Math.ceil(SEQUENTIAL / 3)));
  }
  const median = (xs, k) => xs.map((x) => x[k]).sort((a, b) => a - b)[1];
  const par = {
    local: await parallel(r1.url, PARALLEL, CONCURRENCY),
    forwarded: await parallel(r2.url, PARALLEL, CONCURRENCY),
  };
  const big = {
    local: await parallel(r1.url, LARGE_COUNT, 4, '/large'),
    forwarded: await parallel(r2.url, LARGE_COUNT, 4, '/large'),
  };
  const result = {
    at: new Date().toISOString(),
    setup: 'two replicas on PostgreSQL + NATS, one agent on replica 1; probes through the API',
    sequential: SEQUENTIAL,
    parallel: { requests: PARALLEL, concurrency: CONCURRENCY },
    large: { bytes: LARGE, count: LARGE_COUNT },
    latencyMs: {
      local: { p50: median(seq.local, 'p50'), p90: median(seq.local, 'p90'), p99: median(seq.local, 'p99') },
      forwarded: {
        p50: median(seq.forwarded, 'p50'),
        p90: median(seq.forwarded, 'p90'),
        p99: median(seq.forwarded, 'p99'),
      },
    },
    throughputPerSecond: { local: par.local.perSecond, forwarded: par.forwarded.perSecond },
    largeMiBPerSecond: {
      local: (LARGE_COUNT * LARGE) / 1048576 / big.local.seconds,
      forwarded: (LARGE_COUNT * LARGE) / 1048576 / big.forwarded.seconds,
    },
    failed: par.local.failed + par.forwarded.failed + big.local.failed + big.forwarded.failed,
  };
  const f = (x) => x.toFixed(2);
  const rows = [
    ['latency p50 (ms)', f(result.latencyMs.local.p50), f(result.latencyMs.forwarded.p50)],
    ['latency p90 (ms)', f(result.latencyMs.local.p90), f(result.latencyMs.forwarded.p90)],
    ['latency p99 (ms)', f(result.latencyMs.local.p99), f(result.latencyMs.forwarded.p99)],
    [
      `probes/s (${CONCURRENCY} at once)`,
      f(result.throughputPerSecond.local),
      f(result.throughputPerSecond.forwarded),
    ],
    [
      `MiB/s (${LARGE / 1048576} MiB answers)`,
      f(result.largeMiBPerSecond.local),
      f(result.largeMiBPerSecond.forwarded),
    ],
  ];
  console.log('\nForwarding cost: a dispatch through a second replica vs a local one (same run)\n');
  console.log(
    `${'measure'.padEnd(32)}${'local'.padStart(12)}${'forwarded'.padStart(12)}${'ratio'.padStart(9)}`,
  );
  for (const [name, a, b] of rows) {
    console.log(
      `${name.padEnd(32)}${a.padStart(12)}${b.padStart(12)}${(Number(b) / Number(a)).toFixed(2).padStart(9)}`,
    );
  }
  console.log(`\nfailed requests: ${result.failed}`);
  const dir = join(root, 'test/bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `forwarding-${result.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${file}`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  await sleep(500);
  for (const c of children) c.kill('SIGKILL');
  target.close();
  for (const c of cleanups.reverse())
    await Promise.resolve()
      .then(c)
      .catch(() => undefined);
}
