// Helpers shared by the benchmark's roles and its orchestrator: spawning roles as their own OS
// processes, reading their memory from /proc, and the statistics the table prints.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../kit/stop-child.mjs';

export const benchDir = fileURLToPath(new URL('./', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const MiB = 1024 * 1024;
export const KiB = 1024;

const children = new Set();

/**
 * Starts `node <script> ...args` as its own process, with the file-descriptor limit raised to the
 * hard limit (thousands of agent sockets need more than the usual 1024). `exec` keeps the PID the
 * node process's own, so /proc/<pid>/status is the role's memory, not bash's.
 */
export function startRole(name, script, { args = [], env = {}, nodeArgs = [] } = {}) {
  const child = spawn(
    'bash',
    [
      '-c',
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
      process.execPath,
      ...nodeArgs,
      script,
      ...args,
    ],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        // An experiment's switch passes through: WS_NO_BUFFER_UTIL=1 makes ws mask in JavaScript.
        ...(process.env.WS_NO_BUFFER_UTIL ? { WS_NO_BUFFER_UTIL: process.env.WS_NO_BUFFER_UTIL } : {}),
        // BENCH_STREAM_WINDOW=bytes: the control plane's stream window (control-plane-front.mjs).
        ...(process.env.BENCH_STREAM_WINDOW ? { BENCH_STREAM_WINDOW: process.env.BENCH_STREAM_WINDOW } : {}),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines = [];
  const waiters = new Set();
  let exited = null;
  const onData = (carry) => (buf) => {
    const parts = (carry.rest + buf.toString()).split('\n');
    carry.rest = parts.pop() ?? '';
    for (const raw of parts) {
      let json;
      if (raw.startsWith('{')) {
        try {
          json = JSON.parse(raw);
        } catch {
          json = undefined;
        }
      }
      // Keep the JSON lines and the last few others (errors); drop the rest to bound memory.
      if (json) lines.push({ raw, json });
      else if (raw.trim()) lines.push({ raw });
      if (lines.length > 2000) lines.splice(0, lines.length - 2000);
    }
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData({ rest: '' }));
  child.stderr.on('data', onData({ rest: '' }));
  const exit = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      children.delete(role);
      for (const w of waiters) w();
      resolve(exited);
    }),
  );
  const role = {
    name,
    pid: child.pid,
    child,
    lines,
    exit,
    output: () => lines.map((l) => l.raw).join('\n'),
    /** The first JSON line whose msg is `msg` (and that `match` accepts). */
    waitFor(msg, match = () => true, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name}: no "${msg}" within ${timeoutMs} ms:\n${role.output().slice(-3000)}`));
        }, timeoutMs);
        const check = () => {
          const hit = lines.find((l) => l.json?.msg === msg && match(l.json));
          if (hit) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(hit.json);
          } else if (exited) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(
              new Error(
                `${name} exited (${JSON.stringify(exited)}) before "${msg}":\n${role.output().slice(-3000)}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
    /** SIGTERM, then SIGKILL after `graceMs`. */
    async stop(graceMs = 3000) {
      if (exited) return;
      await stopChild(child, exit, graceMs);
    },
  };
  children.add(role);
  return role;
}

/** Stops every role this process started (each by its own PID). */
export async function stopAllRoles() {
  await Promise.all([...children].map((r) => r.stop()));
}

/** Last resort on exit: SIGKILL whatever is still running, by PID. */
export function killAllRolesSync() {
  for (const r of children) {
    try {
      r.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * VmRSS and VmHWM (peak RSS) of a process, in bytes, and RSS split into anonymous memory (heaps,
 * stacks) and file-backed pages (mostly the node binary's code and read-only data).
 */
export function procMemory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** CPU time (user + system) a process has used so far, in ms (from /proc/<pid>/stat). */
export function procCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Resets a process's peak RSS (VmHWM) to its current RSS (Linux: clear_refs 5). */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Peak RSS of some processes while `fn` runs: VmHWM after a reset, and a 20 ms poll of VmRSS as a
 * cross-check where clear_refs is not allowed.
 */
export async function peakRssDuring(pids, fn) {
  const reset = Object.fromEntries(pids.map((p) => [p, resetPeak(p)]));
  const polled = Object.fromEntries(pids.map((p) => [p, procMemory(p).rss]));
  const timer = setInterval(() => {
    for (const p of pids) {
      try {
        polled[p] = Math.max(polled[p], procMemory(p).rss);
      } catch {
        // exited
      }
    }
  }, 20);
  try {
    const value = await fn();
    const peaks = {};
    for (const p of pids) {
      const m = procMemory(p);
      peaks[p] = reset[p] ? Math.max(m.hwm, polled[p]) : polled[p];
    }
    return { value, peaks };
  } finally {
    clearInterval(timer);
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Prints a plain-text table (also valid Markdown). */
export function table(header, rows) {
  const cells = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(cells[0]),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

export const mb = (bytes) => (bytes / MiB).toFixed(1);
