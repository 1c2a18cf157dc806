// The moving parts of `pnpm chaos`, each a real thing on loopback or in the run's own network
// namespace: child processes with their logs in files, a TCP balancer, a TCP proxy in front of
// PostgreSQL that can be cut, and a network namespace. Nothing here reaches beyond this machine.
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { connect, createServer } from 'node:net';

/** Every child this run started, so the end (or a crash of the run) can stop exactly those. */
const children = new Set();

/**
 * A child process whose stdout/stderr go to `logFile`; `onLine` sees every line. `argv[0]` is
 * run directly (no shell). Resolves nothing: use `exited` and the lines.
 */
export function startChild(name, argv, { env = {}, logFile, onLine } = {}) {
  const child = spawn(argv[0], argv.slice(1), {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
  let rest = '';
  const onData = (buf) => {
    log?.write(buf);
    if (!onLine) return;
    const parts = (rest + buf.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) onLine(line);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      log?.end();
      resolve({ code, signal });
    }),
  );
  return {
    name,
    child,
    pid: child.pid,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; true when it had to be killed. */
export async function stopChild(proc, graceMs = 15_000) {
  if (!proc.alive()) return false;
  proc.child.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.child.kill('SIGKILL');
  }, graceMs);
  await proc.exited;
  clearTimeout(timer);
  return killed;
}

/** Kills every child this run started that is still running (each by its own pid). */
export async function killAllChildren() {
  const left = [...children];
  for (const c of left) c.kill('SIGKILL');
  await Promise.all(left.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
}

export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Round-robin TCP balancer over `backends` (`host:port`): a backend that refuses is skipped, as a
 * load balancer's health check would. "One URL" for agents, callbacks and the run's API calls.
 */
export async function startBalancer(host, backends) {
  let next = 0;
  const sockets = new Set();
  const track = (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server = createServer((client) => {
    track(client);
    client.pause();
    client.on('error', () => client.destroy());
    const tryFrom = (attempt) => {
      if (attempt >= backends.length) {
        client.destroy();
        return;
      }
      const [h, p] = backends[next++ % backends.length].split(':');
      const upstream = connect(Number(p), h);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        track(upstream);
        client.pipe(upstream).pipe(client);
        client.resume();
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
      });
      upstream.on('error', () => {
        if (connected) client.destroy();
        else tryFrom(attempt + 1);
      });
    };
    tryFrom(0);
  });
  await new Promise((r) => server.listen(0, host, r));
  return {
    url: `http://${host}:${server.address().port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * A TCP proxy in front of PostgreSQL. `cut(ms)` is a lost database link: every open connection
 * is torn down and new ones are refused (closed at once) until the time is up.
 */
export async function startCuttableProxy(targetHost, targetPort) {
  let downUntil = 0;
  const pairs = new Set();
  const server = createServer((client) => {
    client.on('error', () => client.destroy());
    if (Date.now() < downUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    upstream.on('error', () => client.destroy());
    client.once('close', () => {
      upstream.destroy();
      pairs.delete(pair);
    });
    upstream.once('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    cut(ms) {
      downUntil = Date.now() + ms;
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * The run's own network namespace, joined to ours by a veth pair, with an address only it has
 * (where the receiver listens). Processes inside reach the host side of the veth and nothing else.
 */
export function createNamespace() {
  if (process.getuid?.() !== 0) {
    throw new Error('pnpm chaos needs root: it puts the agents and the receiver in a network namespace');
  }
  const id = randomInt(1, 250);
  const tag = `c${process.pid % 10000}${id}`;
  const name = `brl-${tag}`;
  const hostIf = `brlh${tag}`.slice(0, 15);
  const nsIf = `brln${tag}`.slice(0, 15);
  const subnet = id;
  const hostAddress = `10.233.${subnet}.1`;
  const nsAddress = `10.233.${subnet}.2`;
  const privateAddress = `10.234.${subnet}.10`;
  const ip = (args) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const destroy = () => {
    try {
      ip(['netns', 'del', name]);
    } catch {}
    try {
      ip(['link', 'del', hostIf]);
    } catch {}
  };
  destroy();
  try {
    ip(['netns', 'add', name]);
    ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    ip(['link', 'set', nsIf, 'netns', name]);
    ip(['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    ip(['link', 'set', hostIf, 'up']);
    ip(['-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf]);
    ip(['-n', name, 'link', 'set', nsIf, 'up']);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    ip(['-n', name, 'addr', 'add', `${privateAddress}/32`, 'dev', 'lo']);
  } catch (err) {
    destroy();
    throw new Error(`could not build the run's network namespace: ${err.message}`);
  }
  return { name, hostAddress, privateAddress, destroy };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The p-th percentile (0..100) of `values`, nearest rank; 0 for none. */
export function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
