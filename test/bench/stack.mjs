// The roles the tunnel parts of the bench run against, and the load they send: a target
// (node:http), a plain reverse proxy (node:http + undici), the control plane with its bench-only
// front (control-plane-front.mjs) and the real agent program, each its own OS process.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Agent } from 'undici';
import { benchDir, KiB, MiB, procMemory, repoRoot, sleep, startRole } from './lib.mjs';

export const IDENTIFIER = 'bench-rna';

export const loadAgent = new Agent({ connections: 128 });

export async function getJson(url, method = 'GET') {
  const res = await loadAgent.request({ origin: new URL(url).origin, path: new URL(url).pathname, method });
  return res.body.json();
}

export async function until(fn, what, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** BENCH_PROFILE_DIR: the control plane and the agent write V8 CPU profiles there (`--cpu-prof`). */
const profile = process.env.BENCH_PROFILE_DIR
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
  : [];

export async function startControlPlane(name, targetUrl) {
  const role = startRole(name, join(benchDir, 'control-plane-front.mjs'), {
    nodeArgs: ['--expose-gc', ...profile],
    args: targetUrl ? [targetUrl] : [],
    env: { BENCH_AGENT_IDENTIFIER: IDENTIFIER },
  });
  const ready = await role.waitFor('ready');
  return { role, ...ready };
}

/**
 * Target, proxy, control plane and agent, with the agent connected. Also measures the agent's
 * idle RSS: once connected, and again after one small call and a 1 MiB download and upload through
 * the tunnel (code loaded on first use, such as its undici client, is then counted as idle).
 */
/** The bench agent's environment for a control plane from startControlPlane (quiet, allowed only loopback). */
export function agentEnv(cp) {
  return {
    BOREALIS_CONTROL_PLANE_URL: cp.url,
    BOREALIS_AGENT_IDENTIFIER: IDENTIFIER,
    BOREALIS_CLIENT_ID: cp.clientId,
    BOREALIS_CLIENT_SECRET: cp.clientSecret,
    BOREALIS_ALLOW: '127.0.0.1/32',
    BOREALIS_AGENT_HEALTH_PORT: '0',
    BOREALIS_LOG_LEVEL: 'warn',
  };
}

export async function startStack() {
  const target = startRole('target', join(benchDir, 'target.mjs'));
  const targetUrl = `http://127.0.0.1:${(await target.waitFor('listening')).port}`;
  const proxy = startRole('proxy', join(benchDir, 'proxy.mjs'), { args: [targetUrl] });
  const proxyUrl = `http://127.0.0.1:${(await proxy.waitFor('listening')).port}`;
  const cp = await startControlPlane('control-plane', targetUrl);
  const agent = startRole('agent', join(repoRoot, 'packages/agent/bin/borealis-agent.js'), {
    nodeArgs: profile,
    env: agentEnv(cp),
  });
  await until(async () => (await getJson(`${cp.frontUrl}/bench/stats`)).connections === 1, 'the agent');
  const stack = { target, targetUrl, proxy, proxyUrl, cp, agent, tunnelUrl: cp.frontUrl };
  await sleep(1000);
  const connected = procMemory(agent.pid).rss;
  await echo(stack.tunnelUrl);
  await download(stack.tunnelUrl, MiB);
  await upload(stack.tunnelUrl, MiB);
  await sleep(1000);
  const after = procMemory(agent.pid);
  stack.agentIdleRss = {
    connected,
    afterCalls: after.rss,
    afterCallsAnon: after.anon,
    afterCallsFile: after.file,
    // The same run's baseline: a node process that loads nothing, half a second after it starts.
    bareNode: bareNodeRss(),
  };
  return stack;
}

function bareNodeRss() {
  const out = execFileSync(process.execPath, [
    '-e',
    'setTimeout(() => process.stdout.write(JSON.stringify(require("fs").readFileSync("/proc/self/status", "utf8"))), 500)',
  ]);
  const status = JSON.parse(out.toString());
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

export async function stopStack(s) {
  await Promise.all([s.agent, s.cp.role, s.proxy, s.target].map((r) => r.stop()));
}

export const SMALL_BODY = Buffer.alloc(KiB, 0x62);

/** One 1 KiB POST to /echo, checked; `dispatcher` defaults to the shared load agent. */
export async function echo(base, dispatcher = loadAgent) {
  const u = new URL(`${base}/echo`);
  const res = await dispatcher.request({
    origin: u.origin,
    path: u.pathname,
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(SMALL_BODY.length) },
    body: SMALL_BODY,
  });
  const body = await res.body.arrayBuffer();
  if (res.statusCode !== 200 || body.byteLength !== SMALL_BODY.length)
    throw new Error(`echo through ${base}: ${res.statusCode}`);
}

export async function download(base, bytes, headers = {}) {
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

export async function upload(base, bytes) {
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
