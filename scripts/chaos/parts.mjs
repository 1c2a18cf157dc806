// The moving parts of `pnpm chaos`, each a real thing on loopback or in the run's own network
// namespace: child processes with their logs in files, a TCP balancer, a TCP proxy in front of
// PostgreSQL that can be cut, and a network namespace. Nothing here reaches beyond this machine.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createPrivateNetwork } from '../../test/kit/netns.mjs';

// The same free port, balancer, database proxy and namespace the tests use (plain JavaScript in test/kit/).
export { startCuttableProxy } from '../../test/kit/cuttable-proxy.mjs';
export { freePort } from '../../test/kit/free-port.mjs';
export { startTcpBalancer } from '../../test/kit/tcp-balancer.mjs';

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

/**
 * The run's own network namespace, joined to ours by a veth pair, with an address only it has
 * (where the receiver listens); its own address ranges, apart from the e2e tests' namespaces.
 */
export function createNamespace() {
  return createPrivateNetwork({
    label: 'c',
    hostNet: '10.233',
    privateNet: '10.234',
    needsRoot: 'pnpm chaos needs root: it puts the agents and the receiver in a network namespace',
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The p-th percentile (0..100) of `values`, nearest rank; 0 for none. */
export function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
