// `pnpm chaos`: the life an operator has, at once and under load. Three control-plane replicas on
// PostgreSQL (through a TCP proxy the run can cut) and NATS (the run's own nats-server), behind
// one balancer; two agents per identifier inside the run's own network namespace, with the
// webhook receiver that only they can reach. A steady stream of deployments (webhook gates
// before and after deployment and in canary steps, an approval the run gives) while agents and
// replicas are stopped in turn (SIGTERM: a rolling upgrade; SIGKILL: a crash), the database link
// is cut for seconds and NATS is restarted. At the end every deployment must have settled as the
// receiver's answers say: nothing wrongly failed, nothing stuck, no callback lost.
//
//   node scripts/chaos.mjs [--quick] [--json] [--deployments N] [--keep-logs]
//
// Prints progress on stderr, a table on stdout, and with --json one JSON line last. Exits 0 only
// when wronglyFailed, wronglySucceeded, duplicateRuns, stuck, lostCallbacks and crashes (a
// replica or agent that exited without being asked) are 0 and every fault kind was injected at
// least once. On failure the logs and a dump of the database stay in the work directory. Needs root (network namespace), PostgreSQL on
// 127.0.0.1:5432 (BOREALIS_TEST_POSTGRES_URL to point elsewhere), /usr/sbin/nats-server, and the
// built programs (`pnpm chaos` builds first).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  createNamespace,
  freePort,
  killAllChildren,
  percentile,
  sleep,
  startChild,
  startCuttableProxy,
  startTcpBalancer,
  stopChild,
} from './chaos/parts.mjs';

const root = resolve(import.meta.dirname, '..');
const bins = {
  server: join(root, 'packages/control-plane/bin/borealis-server.js'),
  agent: join(root, 'packages/agent/bin/borealis-agent.js'),
  receiver: join(root, 'scripts/chaos/receiver.mjs'),
};
const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

// --- options ------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
for (const a of argv) {
  if (a.startsWith('--') && !['--quick', '--json', '--keep-logs', '--deployments'].includes(a)) {
    process.stderr.write(`chaos: unknown option ${a} (use --quick, --json, --deployments N, --keep-logs)\n`);
    process.exit(2);
  }
}
const quick = flag('--quick');
const asJson = flag('--json');
const keepLogs = flag('--keep-logs');
const profile = quick
  ? { deployments: 40, startEveryMs: 1_500, faultEveryMs: 7_000, settleMs: 100_000, limitMs: 210_000 }
  : { deployments: 300, startEveryMs: 1_000, faultEveryMs: 12_000, settleMs: 150_000, limitMs: 600_000 };
if (value('--deployments') !== undefined) {
  const n = Number(value('--deployments'));
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write('chaos: --deployments takes a whole number of at least 1\n');
    process.exit(2);
  }
  profile.deployments = n;
}
const FAULT_KINDS = [
  'agentSigterm',
  'replicaSigterm',
  'dbCut',
  'agentSigkill',
  'replicaSigkill',
  'natsRestart',
];
const GATES = ['staging/before', 'staging/canary', 'staging/after', 'prod/canary', 'prod/after'];
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK']);
const REPLICAS = ['r1', 'r2', 'r3'];
const AGENTS = [
  { name: 'a1', identifier: 'chaos-a' },
  { name: 'a2', identifier: 'chaos-a' },
  { name: 'b1', identifier: 'chaos-b' },
  { name: 'b2', identifier: 'chaos-b' },
];

const began = Date.now();
const hardDeadline = began + profile.limitMs;
const elapsed = () => `${((Date.now() - began) / 1000).toFixed(1).padStart(6)}s`;
const say = (s) => process.stderr.write(`chaos ${elapsed()} ${s}\n`);

for (const [what, path] of [
  ['the control plane (run `pnpm exec tsc -b`)', bins.server],
  ['the agent (run `pnpm exec tsc -b`)', join(root, 'packages/agent/dist/main.js')],
  ['nats-server (apt-get install nats-server, or NATS_SERVER_BIN)', NATS_SERVER],
]) {
  if (!existsSync(path)) {
    process.stderr.write(`chaos: ${what} is missing: ${path}\n`);
    process.exit(2);
  }
}

// --- state --------------------------------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'borealis-chaos-'));
const runTag = randomBytes(3).toString('hex');
const apiToken = `chaos-${randomBytes(16).toString('hex')}`;
const secretKey = randomBytes(32).toString('base64');
const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
const faultLog = [];
const notes = { forcedKills: 0, apiRetries: 0, startRetries: 0, pollErrors: 0 };
/** webhook-id → what the receiver saw and answered */
const calls = new Map();
const callbacks = new Map();
const gaveUp = new Map();
const deployments = [];
let db;
let pgProxy;
let ns;
let balancer;
let nats;
let natsPort;
const replicas = new Map();
const agents = new Map();
let credentials;
let cleaningUp = false;

/**
 * The run's own PostgreSQL database (dropped at the end). Written here rather than imported: the
 * tests' `test-stores.test-util.ts` does not ship in `dist/`, and this script runs plain node.
 */
async function createRunDatabase() {
  const pg = createRequire(join(root, 'packages/control-plane/package.json'))('pg');
  const adminUrl = process.env.BOREALIS_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `borealis_chaos_${randomBytes(6).toString('hex')}`;
  const admin = async (statement) => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    // FORCE ends connections a killed replica may have left open (PostgreSQL 13+).
    dispose: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** On a failed run: what the database held, beside the logs, before it is dropped. */
async function dumpDatabase() {
  const pg = createRequire(join(root, 'packages/control-plane/package.json'))('pg');
  const client = new pg.Client({ connectionString: db.databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    for (const table of ['deployments', 'deployment_environments', 'webhook_runs']) {
      const { rows } = await client.query(`SELECT * FROM ${table}`);
      writeFileSync(join(work, `${table}.json`), JSON.stringify(rows, null, 1));
    }
  } finally {
    await client.end();
  }
}

async function cleanup({ dump = false } = {}) {
  if (cleaningUp) return;
  cleaningUp = true;
  await killAllChildren();
  if (dump && db) await dumpDatabase().catch((err) => say(`could not dump the database: ${err.message}`));
  await balancer?.close().catch(() => undefined);
  await pgProxy?.close().catch(() => undefined);
  ns?.destroy();
  await db?.dispose().catch((err) => say(`could not drop the run's database: ${err.message}`));
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    say(`${sig}: stopping everything this run started`);
    cleanup().finally(() => process.exit(130));
  });
}

// --- the parts ----------------------------------------------------------------------------------
function startNats() {
  nats = startChild(
    'nats',
    [
      NATS_SERVER,
      '-a',
      '127.0.0.1',
      '-p',
      String(natsPort),
      '-js',
      '-sd',
      join(work, 'nats'),
      '-n',
      `chaos-${runTag}`,
    ],
    { logFile: join(work, 'nats.log') },
  );
}

async function waitForPort(port, ms = 10_000) {
  const { connect } = await import('node:net');
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
}

function replicaEnv(id, port) {
  const dbUrl = new URL(db.databaseUrl);
  dbUrl.hostname = '127.0.0.1';
  dbUrl.port = String(pgProxy.port);
  return {
    BOREALIS_HOST: '127.0.0.1',
    BOREALIS_PORT: String(port),
    BOREALIS_PUBLIC_URL: balancer.url,
    BOREALIS_DATA_DIR: join(work, id),
    BOREALIS_DATABASE_URL: dbUrl.toString(),
    BOREALIS_NATS_URL: `nats://127.0.0.1:${natsPort}`,
    BOREALIS_SECRET_KEY: secretKey,
    BOREALIS_API_TOKEN: apiToken,
    BOREALIS_REPLICA_ID: id,
    BOREALIS_LEASE_TIME: '10s',
    BOREALIS_HEARTBEAT_INTERVAL: '2s',
    BOREALIS_LOG_LEVEL: process.env.BOREALIS_LOG_LEVEL ?? 'info',
  };
}

/**
 * A process that exits when the run did not stop it crashed: a product bug. It is counted (and
 * fails the run) and started again, so the run goes on and can show what else happens.
 */
const crashes = [];
function watchForCrash(name, proc, restart) {
  void proc.exited.then(({ code, signal }) => {
    if (proc.stoppedByRun || cleaningUp) return;
    crashes.push({ name, code, signal, at: Date.now() - began });
    say(`${name} exited on its own (code ${code}, signal ${signal}): a crash; starting it again`);
    if (restart) restart().catch((err) => say(`could not restart ${name}: ${err.message}`));
  });
}

async function startReplica(id) {
  const r = replicas.get(id);
  r.proc = startChild(id, [process.execPath, bins.server], {
    env: replicaEnv(id, r.port),
    logFile: join(work, `${id}.log`),
  });
  watchForCrash(`replica ${id}`, r.proc, () => startReplica(id));
  const end = Date.now() + 60_000;
  for (;;) {
    if (!r.proc.alive()) throw new Error(`replica ${id} exited at start; see ${join(work, `${id}.log`)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${r.port}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
    } catch {}
    if (Date.now() > end)
      throw new Error(`replica ${id} not ready within 60 s; see ${join(work, `${id}.log`)}`);
    await sleep(200);
  }
}

async function startAgent(name) {
  const a = agents.get(name);
  let connected;
  const isConnected = new Promise((r) => {
    connected = r;
  });
  a.proc = startChild(name, ['ip', 'netns', 'exec', ns.name, process.execPath, bins.agent], {
    env: {
      BOREALIS_CONTROL_PLANE_URL: balancer.url,
      BOREALIS_AGENT_IDENTIFIER: a.identifier,
      BOREALIS_CLIENT_ID: credentials.clientId,
      BOREALIS_CLIENT_SECRET: credentials.clientSecret,
      BOREALIS_ALLOW: `${ns.privateAddress}/32`,
      BOREALIS_AGENT_HEALTH_PORT: '0',
    },
    logFile: join(work, `agent-${name}.log`),
    onLine: (line) => {
      if (line.includes('"msg":"connected"')) connected();
    },
  });
  watchForCrash(`agent ${name}`, a.proc, () => startAgent(name));
  const timeout = sleep(60_000).then(() => {
    throw new Error(`agent ${name} did not connect within 60 s; see ${join(work, `agent-${name}.log`)}`);
  });
  await Promise.race([isConnected, timeout]);
}

function startReceiver() {
  let listening;
  const port = new Promise((r) => {
    listening = r;
  });
  startChild(
    'receiver',
    [
      'ip',
      'netns',
      'exec',
      ns.name,
      process.execPath,
      bins.receiver,
      ns.privateAddress,
      '0.06',
      '20',
      '1500',
    ],
    {
      logFile: join(work, 'receiver.log'),
      onLine: (line) => {
        let e;
        try {
          e = JSON.parse(line);
        } catch {
          return;
        }
        if (e.t === 'listening') listening(e.port);
        else if (e.t === 'call') {
          const c = calls.get(e.id);
          if (c) c.calls = e.n;
          else calls.set(e.id, { ...e, calls: e.n });
        } else if (e.t === 'callback') {
          // The first final answer counts; a repeat (for a repeated call) only adds to the count.
          if (!callbacks.has(e.id)) callbacks.set(e.id, e);
        } else if (e.t === 'callback-gave-up') gaveUp.set(e.id, e);
      },
    },
  );
  return port;
}

// --- the API, as a client behind a balancer sees it ------------------------------------------------
async function apiOnce(method, path, body) {
  const res = await fetch(balancer.url + path, {
    method,
    headers: {
      authorization: `Bearer ${apiToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json };
}

/** Retries what a replica going away or a cut database answers (no answer, 5xx) for `patienceMs`. */
async function api(method, path, body, patienceMs = 60_000) {
  const end = Date.now() + patienceMs;
  let last;
  for (;;) {
    try {
      const r = await apiOnce(method, path, body);
      if (r.status < 500) return r;
      last = `HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`;
    } catch (err) {
      last = String(err?.cause?.code ?? err?.message ?? err);
    }
    notes.apiRetries++;
    if (Date.now() > end)
      throw new Error(`${method} ${path}: no answer within ${patienceMs} ms (last: ${last})`);
    await sleep(300);
  }
}

// --- deployments --------------------------------------------------------------------------------
function deployFile(application, receiverUrl) {
  return `application: ${application}
targets:
  staging:
    account: chaos-a
    namespace: chaos
    strategy: canary
    constraints:
      beforeDeployment:
        - runWebhook:
            name: gate
            context:
              gate: before
      afterDeployment:
        - runWebhook:
            name: gate
            context:
              gate: after
  prod:
    account: chaos-b
    namespace: chaos
    strategy: canary
    constraints:
      dependsOn: ["staging"]
      beforeDeployment:
        - pause:
            untilApproved: true
      afterDeployment:
        - runWebhook:
            name: gate
            context:
              gate: after
strategies:
  canary:
    canary:
      steps:
        - setWeight:
            weight: 50
        - runWebhook:
            name: gate
            context:
              gate: canary
        - setWeight:
            weight: 100
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: ${application} }
webhooks:
  - name: gate
    method: POST
    uriTemplate: ${receiverUrl}/gate/{{armory.environmentName}}/{{context.gate}}
    networkMode: remoteNetworkAgent
    headers:
      - key: Content-Type
        value: application/json
    bodyTemplate:
      inline: >-
        {"callbackUri": "{{armory.callbackUri}}/callback", "deploymentId": "{{armory.deploymentId}}",
        "environment": "{{armory.environmentName}}", "gate": "{{context.gate}}"}
    retryCount: 3
`;
}

async function startDeployment(n, receiverUrl) {
  const application = `chaos-${runTag}-${n}`;
  const d = { n, application, id: undefined, startedAt: Date.now(), view: undefined, lastApprove: 0 };
  deployments.push(d);
  const end = Date.now() + 90_000;
  for (;;) {
    let r;
    try {
      r = await apiOnce('POST', '/api/v1/deployments', { deployFile: deployFile(application, receiverUrl) });
    } catch (err) {
      r = { status: 0, json: { error: String(err?.cause?.code ?? err?.message) } };
    }
    if (r.status === 202) {
      d.id = r.json.deploymentId;
      return;
    }
    // An earlier try was stored though its answer was lost: the application names it.
    if (r.status === 409 && r.json?.error?.details?.runningDeploymentId) {
      d.id = r.json.error.details.runningDeploymentId;
      return;
    }
    if (r.status > 0 && r.status < 500) {
      d.startError = `HTTP ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`;
      say(`deployment ${n} refused: ${d.startError}`);
      return;
    }
    notes.startRetries++;
    if (Date.now() > end) {
      d.startError = `no answer within 90 s (last: ${JSON.stringify(r.json).slice(0, 200)})`;
      return;
    }
    await sleep(500);
  }
}

async function pollOnce() {
  const open = deployments.filter((d) => d.id && !d.view);
  let i = 0;
  const worker = async () => {
    while (i < open.length) {
      const d = open[i++];
      let r;
      try {
        r = await apiOnce('GET', `/api/v1/deployments/${d.id}`);
      } catch {
        notes.pollErrors++;
        continue;
      }
      if (r.status !== 200) {
        notes.pollErrors++;
        continue;
      }
      const view = r.json;
      d.status = view.status;
      if (FINAL.has(view.status)) {
        d.view = view;
        d.finishedAt = Date.now();
        continue;
      }
      const waiting = view.environments.find((e) => e.status === 'AWAITING_APPROVAL');
      if (waiting && Date.now() - d.lastApprove > 2_000) {
        d.lastApprove = Date.now();
        try {
          const a = await apiOnce('POST', `/api/v1/deployments/${d.id}/approve`, {
            environment: waiting.name,
          });
          if (a.status === 200) d.approved = true;
        } catch {}
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}

// --- faults -------------------------------------------------------------------------------------
let nextAgent = 0;
let nextReplica = 0;

async function inject(kind) {
  const t0 = Date.now();
  let what = '';
  switch (kind) {
    case 'agentSigterm':
    case 'agentSigkill': {
      const name = AGENTS[nextAgent++ % AGENTS.length].name;
      const a = agents.get(name);
      a.proc.stoppedByRun = true;
      if (kind === 'agentSigterm') {
        if (await stopChild(a.proc, 30_000)) notes.forcedKills++;
      } else {
        a.proc.child.kill('SIGKILL');
        await a.proc.exited;
        await sleep(1_000 + Math.random() * 2_000);
      }
      await startAgent(name);
      what = `agent ${name}`;
      break;
    }
    case 'replicaSigterm':
    case 'replicaSigkill': {
      const id = REPLICAS[nextReplica++ % REPLICAS.length];
      const r = replicas.get(id);
      r.proc.stoppedByRun = true;
      if (kind === 'replicaSigterm') {
        if (await stopChild(r.proc, 30_000)) {
          notes.forcedKills++;
          say(`replica ${id} did not stop within 30 s of SIGTERM: killed`);
        }
      } else {
        r.proc.child.kill('SIGKILL');
        await r.proc.exited;
        await sleep(2_000);
      }
      await startReplica(id);
      what = `replica ${id}`;
      break;
    }
    case 'dbCut': {
      const ms = 3_000 + Math.floor(Math.random() * 2_000);
      pgProxy.cut(ms);
      await sleep(ms);
      what = `database link down for ${ms} ms`;
      break;
    }
    case 'natsRestart': {
      nats.child.kill('SIGKILL');
      await nats.exited;
      await sleep(1_500);
      startNats();
      await waitForPort(natsPort);
      what = 'nats-server killed and started again';
      break;
    }
  }
  faults[kind]++;
  faultLog.push({ kind, what, at: t0 - began, tookMs: Date.now() - t0 });
  say(`fault ${kind}: ${what} (back after ${Date.now() - t0} ms)`);
}

// --- the run ------------------------------------------------------------------------------------
async function run() {
  say(`work directory ${work}; ${profile.deployments} deployments, one every ${profile.startEveryMs} ms`);
  db = await createRunDatabase();
  const pgTarget = new URL(db.databaseUrl);
  pgProxy = await startCuttableProxy(pgTarget.hostname, Number(pgTarget.port || 5432));
  natsPort = await freePort();
  mkdirSync(join(work, 'nats'));
  startNats();
  await waitForPort(natsPort);
  ns = createNamespace();
  for (const id of REPLICAS) replicas.set(id, { port: await freePort() });
  balancer = await startTcpBalancer(
    REPLICAS.map((id) => `127.0.0.1:${replicas.get(id).port}`),
    ns.hostAddress,
  );
  for (const id of REPLICAS) await startReplica(id);
  say(`replicas ${REPLICAS.join(', ')} ready behind ${balancer.url}; database ${pgTarget.pathname.slice(1)}`);
  const cred = await api('POST', '/api/v1/agent-credentials', {
    name: 'chaos',
    allowedIdentifiers: ['chaos-a', 'chaos-b'],
  });
  if (cred.status !== 201)
    throw new Error(`agent credentials: HTTP ${cred.status} ${JSON.stringify(cred.json)}`);
  credentials = cred.json;
  const receiverPort = await startReceiver();
  const receiverUrl = `http://${ns.privateAddress}:${receiverPort}`;
  for (const a of AGENTS) agents.set(a.name, { ...a });
  await Promise.all(AGENTS.map((a) => startAgent(a.name)));
  say('4 agents connected; starting deployments and faults');

  let startsDone = false;
  const starting = (async () => {
    const pending = [];
    for (let n = 1; n <= profile.deployments && Date.now() < hardDeadline; n++) {
      pending.push(startDeployment(n, receiverUrl));
      await sleep(profile.startEveryMs);
    }
    await Promise.all(pending);
    startsDone = true;
    say(`all ${deployments.length} deployments started`);
  })();
  const faulting = (async () => {
    let i = 0;
    await sleep(Math.min(5_000, profile.faultEveryMs));
    while (Date.now() < hardDeadline - 30_000 && (!startsDone || FAULT_KINDS.some((k) => faults[k] === 0))) {
      await inject(FAULT_KINDS[i++ % FAULT_KINDS.length]);
      await sleep(profile.faultEveryMs);
    }
  })();
  let faultsDone = false;
  faulting.then(
    () => {
      faultsDone = true;
    },
    (err) => {
      faultsDone = true;
      say(`fault injection failed: ${err.stack ?? err}`);
      notes.faultError = String(err.message ?? err);
    },
  );
  // Poll (and approve) until every deployment settled, or the settle time after the last start.
  let settleEnd = Number.POSITIVE_INFINITY;
  let lastReport = 0;
  for (;;) {
    await pollOnce();
    const open = deployments.filter((d) => d.id && !d.view).length;
    const pendingCallbacks = [...calls.keys()].filter((id) => !callbacks.has(id) && !gaveUp.has(id)).length;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      say(
        `${deployments.length} started, ${deployments.filter((d) => d.view).length} settled, ${open} running; ${calls.size} calls, ${callbacks.size} callbacks answered`,
      );
    }
    if (startsDone && faultsDone) {
      if (settleEnd === Number.POSITIVE_INFINITY) settleEnd = Date.now() + profile.settleMs;
      if (open === 0 && pendingCallbacks === 0) break;
      if (Date.now() > settleEnd) {
        say(`settle time over: ${open} deployments still running, ${pendingCallbacks} callbacks unanswered`);
        break;
      }
    }
    if (Date.now() > hardDeadline) {
      say(`the run's time limit (${profile.limitMs / 1000} s) is over`);
      break;
    }
    await sleep(1_000);
  }
  await starting;
  // The state of what did not settle, for the report.
  for (const d of deployments.filter((x) => x.id && !x.view)) {
    try {
      const r = await apiOnce('GET', `/api/v1/deployments/${d.id}`);
      if (r.status === 200) d.lastView = r.json;
    } catch {}
  }
}

// --- the verdict ----------------------------------------------------------------------------------
function verdict() {
  const runsByCallId = new Map();
  for (const d of deployments) {
    for (const e of (d.view ?? d.lastView)?.environments ?? []) {
      for (const r of e.webhookRuns) runsByCallId.set(r.callId, { ...r, environment: e.name, deployment: d });
    }
  }
  const byDeployment = new Map();
  for (const c of calls.values()) {
    const list = byDeployment.get(c.deploymentId) ?? [];
    list.push(c);
    byDeployment.set(c.deploymentId, list);
  }
  const r = {
    deployments: deployments.length,
    succeeded: 0,
    failedAsExpected: 0,
    wronglyFailed: 0,
    wronglySucceeded: 0,
    stuck: 0,
    duplicateCalls: 0,
    duplicateRuns: 0,
    lostCallbacks: 0,
    p99DecideMs: 0,
    faults,
  };
  const problems = [];
  for (const c of calls.values()) r.duplicateCalls += c.calls - 1;
  for (const d of deployments) {
    const seen = byDeployment.get(d.id) ?? [];
    const gates = new Map();
    for (const c of seen) {
      const key = `${c.environment}/${c.gate}`;
      gates.set(key, [...(gates.get(key) ?? []), c]);
    }
    for (const [key, list] of gates) {
      if (list.length > 1) {
        r.duplicateRuns++;
        problems.push(`deployment ${d.n} (${d.id}): gate ${key} was called as ${list.length} different runs`);
      }
    }
    const anyFalse = seen.some((c) => !c.success);
    const status = d.view?.status;
    if (!d.view) {
      r.stuck++;
      const where = (d.lastView?.environments ?? [])
        .map((e) => `${e.name} ${e.status}${e.message ? ` (${e.message})` : ''}`)
        .join(', ');
      problems.push(
        `deployment ${d.n} (${d.id ?? 'never started'}) did not settle: ${d.startError ?? d.lastView?.status ?? '?'} ${where}`,
      );
    } else if (status === 'SUCCEEDED') {
      const unjudged = GATES.filter((g) => !(gates.get(g) ?? []).some((c) => c.success));
      if (anyFalse || unjudged.length > 0) {
        r.wronglySucceeded++;
        problems.push(
          `deployment ${d.n} (${d.id}) SUCCEEDED though ${anyFalse ? 'the receiver answered success: false' : `gates ${unjudged.join(', ')} were never answered true`}`,
        );
      } else r.succeeded++;
    } else if (anyFalse) {
      r.failedAsExpected++;
    } else {
      r.wronglyFailed++;
      const reasons = d.view.environments
        .flatMap((e) =>
          e.webhookRuns
            .filter((x) => x.status === 'failed')
            .map((x) => `${e.name} ${x.location}: ${x.reason}`),
        )
        .join('; ');
      problems.push(`deployment ${d.n} (${d.id}) ended ${status}: ${d.view.message ?? ''} ${reasons}`);
    }
  }
  const decide = [];
  for (const [id, c] of calls) {
    const cb = callbacks.get(id);
    const run = runsByCallId.get(id);
    if (gaveUp.has(id)) {
      r.lostCallbacks++;
      problems.push(
        `callback for ${c.environment}/${c.gate} of ${c.deploymentId}: gave up (${gaveUp.get(id).error})`,
      );
      continue;
    }
    if (!cb) {
      r.lostCallbacks++;
      problems.push(`callback for ${c.environment}/${c.gate} of ${c.deploymentId}: never answered`);
      continue;
    }
    if (cb.status !== 200) {
      r.lostCallbacks++;
      problems.push(
        `callback for ${c.environment}/${c.gate} of ${c.deploymentId}: answered ${cb.status} ${cb.body}`,
      );
      continue;
    }
    decide.push(cb.ms);
    const expected = c.success ? 'succeeded' : 'failed';
    if (!run || run.status !== expected) {
      r.lostCallbacks++;
      problems.push(
        `callback for ${c.environment}/${c.gate} of ${c.deploymentId} was taken (200) but the run is ${run?.status ?? 'missing'}${run?.reason ? `: ${run.reason}` : ''}`,
      );
    }
  }
  r.p99DecideMs = percentile(decide, 99);
  r.p50DecideMs = percentile(decide, 50);
  const missingFaults = FAULT_KINDS.filter((k) => faults[k] === 0);
  if (missingFaults.length) problems.push(`fault kinds never injected: ${missingFaults.join(', ')}`);
  for (const c of crashes) {
    problems.push(
      `${c.name} crashed at ${(c.at / 1000).toFixed(1)} s (code ${c.code}, signal ${c.signal}); see its log`,
    );
  }
  r.crashes = crashes.length;
  const ok =
    r.wronglyFailed === 0 &&
    r.wronglySucceeded === 0 &&
    r.duplicateRuns === 0 &&
    r.stuck === 0 &&
    r.lostCallbacks === 0 &&
    missingFaults.length === 0 &&
    crashes.length === 0 &&
    !notes.faultError;
  return { r, problems, ok };
}

function durations() {
  const s = deployments.filter((d) => d.finishedAt).map((d) => (d.finishedAt - d.startedAt) / 1000);
  return [50, 99, 100].map((p) => percentile(s, p).toFixed(1)).join(' / ');
}

function retriedRuns() {
  let n = 0;
  for (const d of deployments) {
    for (const e of d.view?.environments ?? []) n += e.webhookRuns.filter((x) => x.attempts > 1).length;
  }
  return n;
}

function table({ r, problems, ok }) {
  const rows = [
    ['deployments', r.deployments],
    ['succeeded', r.succeeded],
    ['failed as expected (receiver said success: false)', r.failedAsExpected],
    ['wrongly failed', r.wronglyFailed],
    ['wrongly succeeded', r.wronglySucceeded],
    ['stuck (not settled at the end)', r.stuck],
    ['webhook calls', calls.size],
    ['duplicate calls (same webhook-id, a retry)', r.duplicateCalls],
    ['duplicate runs (a gate called under two ids)', r.duplicateRuns],
    ['lost callbacks', r.lostCallbacks],
    [
      'callbacks the receiver had to retry (no answer or 5xx)',
      [...callbacks.values()].filter((c) => c.tries > 1).length,
    ],
    ['webhook runs that needed more than one call', retriedRuns()],
    ['callback → decided, p50 / p99 ms', `${r.p50DecideMs} / ${r.p99DecideMs}`],
    ['deployment start → settled, p50 / p99 / max s', durations()],
    ...FAULT_KINDS.map((k) => [`fault: ${k}`, faults[k]]),
    ['processes that crashed (exited unasked)', r.crashes],
    ['replicas or agents SIGKILLed after a 30 s SIGTERM grace', notes.forcedKills],
    ['deployment starts retried (no answer or 5xx)', notes.startRetries],
    ['status polls without an answer', notes.pollErrors],
    ['run time', `${Math.round((Date.now() - began) / 1000)} s`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = [
    `| ${'measure'.padEnd(w)} | result |`,
    `| ${'-'.repeat(w)} | ------ |`,
    ...rows.map(([k, v]) => `| ${k.padEnd(w)} | ${v} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (problems.length) {
    process.stdout.write(`\nproblems (${problems.length}):\n`);
    for (const p of problems.slice(0, 40)) process.stdout.write(`- ${p}\n`);
  }
  process.stdout.write(
    `\n${ok ? 'PASS' : 'FAIL'}: ${ok ? 'every deployment settled as the receiver answered' : `logs kept in ${work}`}\n`,
  );
}

let exitCode = 1;
const hardStop = setTimeout(() => {
  say('the run did not stop by itself within its limit plus 60 s: killing everything');
  cleanup().finally(() => process.exit(1));
}, profile.limitMs + 60_000);
hardStop.unref();
try {
  await run();
  const v = verdict();
  table(v);
  if (asJson) {
    const { r } = v;
    process.stdout.write(
      `${JSON.stringify({
        deployments: r.deployments,
        succeeded: r.succeeded,
        failedAsExpected: r.failedAsExpected,
        wronglyFailed: r.wronglyFailed,
        stuck: r.stuck,
        duplicateCalls: r.duplicateCalls,
        lostCallbacks: r.lostCallbacks,
        p99DecideMs: r.p99DecideMs,
        faults: r.faults,
        wronglySucceeded: r.wronglySucceeded,
        duplicateRuns: r.duplicateRuns,
        crashes: r.crashes,
        ok: v.ok,
      })}\n`,
    );
  }
  exitCode = v.ok ? 0 : 1;
} catch (err) {
  say(`the run itself failed: ${err.stack ?? err}`);
  exitCode = 2;
} finally {
  writeFileSync(
    join(work, 'deployments.jsonl'),
    deployments
      .map((d) =>
        JSON.stringify({
          n: d.n,
          id: d.id,
          status: d.view?.status ?? d.status,
          startedAt: d.startedAt,
          finishedAt: d.finishedAt,
        }),
      )
      .join('\n'),
  );
  await cleanup({ dump: exitCode !== 0 || keepLogs });
  if (exitCode === 0 && !keepLogs) rmSync(work, { recursive: true, force: true });
  else say(`logs: ${work}`);
}
process.exit(exitCode);
