// Agent memory A/B: one target and one control plane, then each agent build in turn (rounds
// interleaved, so a busy minute hits every variant alike). Per variant: RSS once connected, RSS
// after one small call and a 1 MiB download and upload (as the bench's `agentIdleRss`), and
// optionally small-request throughput through the tunnel (`--load`).
//
//   node test/bench/agent-rss.mjs [--rounds N] [--load [--load-ms MS]] NAME=BIN[,NODE_ARG|ENV=VALUE...] ...
//
// BIN is a `borealis-agent.js` (e.g. /work/base/packages/agent/bin/borealis-agent.js); the default
// is this checkout's. Prints one line per run and the medians, then one JSON line.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { MiB, procCpuMs, procMemory, repoRoot, sleep, startRole, stopAllRoles } from './lib.mjs';
import { agentEnv, download, echo, getJson, startControlPlane, until, upload } from './stack.mjs';

const argv = process.argv.slice(2);
let rounds = 5;
let load = false;
let loadMs = 3000;
const variants = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--rounds') rounds = Number(argv[++i]);
  else if (argv[i] === '--load') load = true;
  else if (argv[i] === '--load-ms') loadMs = Number(argv[++i]);
  else {
    const at = argv[i].indexOf('=');
    const [name, spec] = [argv[i].slice(0, at), argv[i].slice(at + 1)];
    const [bin, ...rest] = spec.split(',');
    // NODE_ARG items that look like K=V without a leading dash are environment variables.
    const nodeArgs = rest.filter((a) => a.startsWith('-'));
    const env = Object.fromEntries(rest.filter((a) => !a.startsWith('-')).map((a) => a.split('=')));
    variants.push({ name, bin, nodeArgs, env });
  }
}
if (variants.length === 0)
  variants.push({
    name: 'this',
    bin: `${repoRoot}packages/agent/bin/borealis-agent.js`,
    nodeArgs: [],
    env: {},
  });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mb = (b) => (b / MiB).toFixed(1);

/** Requests per second, closed loop, and the agent's CPU per request (ms) while measuring. */
async function throughput(base, concurrency, ms, agentPid) {
  const pool = new Pool(base, { connections: concurrency, pipelining: 1 });
  try {
    const run = async (ms) => {
      const end = performance.now() + ms;
      let n = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < end) {
            await echo(base, pool);
            n++;
          }
        }),
      );
      return n;
    };
    await run(500);
    const t = performance.now();
    const cpu0 = procCpuMs(agentPid);
    const n = await run(ms);
    return {
      reqPerSec: n / ((performance.now() - t) / 1000),
      cpuMsPerRequest: (procCpuMs(agentPid) - cpu0) / n,
    };
  } finally {
    await pool.close();
  }
}

const target = startRole('target', new URL('./target.mjs', import.meta.url).pathname);
const targetUrl = `http://127.0.0.1:${(await target.waitFor('listening')).port}`;
const cp = await startControlPlane('control-plane', targetUrl);
const results = Object.fromEntries(variants.map((v) => [v.name, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const agent = startRole(`agent-${v.name}`, v.bin, {
        nodeArgs: v.nodeArgs,
        env: { ...agentEnv(cp), ...v.env },
      });
      await until(async () => (await getJson(`${cp.frontUrl}/bench/stats`)).connections === 1, 'the agent');
      await sleep(1000);
      const connected = procMemory(agent.pid).rss;
      await echo(cp.frontUrl);
      await download(cp.frontUrl, MiB);
      await upload(cp.frontUrl, MiB);
      await sleep(1000);
      const afterCalls = procMemory(agent.pid).rss;
      const row = { connected, afterCalls };
      if (load) {
        const c64 = await throughput(cp.frontUrl, 64, loadMs, agent.pid);
        const c1 = await throughput(cp.frontUrl, 1, 2000, agent.pid);
        row.c64 = c64.reqPerSec;
        row.c1 = c1.reqPerSec;
        row.cpuUsPerRequestC64 = c64.cpuMsPerRequest * 1000;
        row.afterLoad = procMemory(agent.pid).rss;
      }
      results[v.name].push(row);
      process.stdout.write(
        `round ${r} ${v.name}: connected ${mb(connected)} MiB, after calls ${mb(afterCalls)} MiB` +
          (load
            ? `, c64 ${row.c64.toFixed(0)} req/s (agent CPU ${row.cpuUsPerRequestC64.toFixed(0)} us/request), c1 ${row.c1.toFixed(0)} req/s, after load ${mb(row.afterLoad)} MiB`
            : '') +
          '\n',
      );
      await agent.stop();
      await until(async () => (await getJson(`${cp.frontUrl}/bench/stats`)).connections === 0, 'disconnect');
    }
  }
} finally {
  await stopAllRoles();
}
const summary = {};
for (const v of variants) {
  const rows = results[v.name];
  const s = {};
  for (const k of Object.keys(rows[0])) s[k] = median(rows.map((x) => x[k]));
  summary[v.name] = s;
  process.stdout.write(
    `median ${v.name}: connected ${mb(s.connected)} MiB, after calls ${mb(s.afterCalls)} MiB` +
      (load
        ? `, c64 ${s.c64.toFixed(0)} req/s (agent CPU ${s.cpuUsPerRequestC64.toFixed(0)} us/request), c1 ${s.c1.toFixed(0)} req/s, after load ${mb(s.afterLoad)} MiB`
        : '') +
      '\n',
  );
}
process.stdout.write(`${JSON.stringify(summary)}\n`);
