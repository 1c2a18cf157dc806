import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../../kit/stop-child.mjs';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const bins = {
  server: `${repoRoot}packages/control-plane/bin/borealis-server.js`,
  agent: `${repoRoot}packages/agent/bin/borealis-agent.js`,
  cli: `${repoRoot}packages/cli/bin/borealis.js`,
} as const;

export interface Proc {
  child: ChildProcess;
  /** Every line the process printed (stdout and stderr), parsed when it is JSON. */
  lines: Array<{ raw: string; json?: Record<string, unknown> }>;
  output(): string;
  /** Resolves with the first JSON log line whose msg is `msg` (and that matches `match`). */
  waitForLog(
    msg: string,
    match?: (json: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  countLogs(msg: string): number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Proc>();

/**
 * Starts a real child process. `netns` runs it inside a network namespace (`ip netns exec`).
 */
export function startProcess(
  script: string,
  options: { env?: Record<string, string>; netns?: string; args?: string[]; cwd?: string } = {},
): Proc {
  const argv = [process.execPath, script, ...(options.args ?? [])];
  const [cmd, ...args] = options.netns ? ['ip', 'netns', 'exec', options.netns, ...argv] : argv;
  const child = spawn(cmd as string, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
    cwd: options.cwd ?? repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Proc['lines'] = [];
  const waiters: Array<() => void> = [];
  const onData = (buf: Buffer, carry: { rest: string }) => {
    const text = carry.rest + buf.toString();
    const parts = text.split('\n');
    carry.rest = parts.pop() ?? '';
    for (const raw of parts) {
      let json: Record<string, unknown> | undefined;
      try {
        json = raw.startsWith('{') ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      lines.push(json ? { raw, json } : { raw });
    }
    for (const w of waiters.splice(0)) w();
  };
  const outCarry = { rest: '' };
  const errCarry = { rest: '' };
  child.stdout?.on('data', (b: Buffer) => onData(b, outCarry));
  child.stderr?.on('data', (b: Buffer) => onData(b, errCarry));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(proc);
      for (const w of waiters.splice(0)) w();
      resolve({ code, signal });
    }),
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const proc: Proc = {
    child,
    lines,
    output: () => lines.map((l) => l.raw).join('\n'),
    waitForLog(msg, match = () => true, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`timed out waiting for log "${msg}"; output:\n${proc.output().slice(-4000)}`)),
          timeoutMs,
        );
        const check = () => {
          const hit = lines.find((l) => l.json?.msg === msg && match(l.json));
          if (hit?.json) {
            clearTimeout(timer);
            resolve(hit.json);
            return;
          }
          if (done) {
            clearTimeout(timer);
            reject(
              new Error(`process exited before logging "${msg}"; output:\n${proc.output().slice(-4000)}`),
            );
            return;
          }
          waiters.push(check);
        };
        check();
      });
    },
    countLogs: (msg) => lines.filter((l) => l.json?.msg === msg).length,
    exited,
    kill(signal = 'SIGKILL') {
      if (!done) child.kill(signal);
    },
    async stop(graceMs = 5000) {
      if (done) return;
      await stopChild(child, exited, graceMs);
    },
  };
  running.add(proc);
  return proc;
}

/** Kills whatever a test left running (call in afterAll/afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(2000)));
}

export { until } from '../../kit/until.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node script args` to its end with only PATH (and `env`) in its environment, `stdin` on
 * its standard input; a non-zero exit is a result, not a throw.
 */
export function runProgram(
  script: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [script, ...args],
      {
        env: { PATH: process.env.PATH ?? '', ...options.env },
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

/**
 * The built CLI against `url` with `token` (BOREALIS_URL, BOREALIS_API_TOKEN); `home` also sets
 * HOME and XDG_CONFIG_HOME (`home/xdg`) so no config file of the machine is read.
 */
export function runCli(
  args: string[],
  options: {
    url: string;
    token: string;
    home?: string;
    env?: Record<string, string>;
    cwd?: string;
    stdin?: string;
    timeoutMs?: number;
  },
): Promise<Run> {
  const { url, token, home, env, ...rest } = options;
  return runProgram(bins.cli, args, {
    ...rest,
    env: {
      ...(home ? { HOME: home, XDG_CONFIG_HOME: `${home}/xdg` } : {}),
      BOREALIS_URL: url,
      BOREALIS_API_TOKEN: token,
      ...env,
    },
  });
}

/**
 * The environment of an agent started by a test: where it dials, as whom, what it may reach
 * (`allow`, default 127.0.0.1/32; null for none), no health port; `reconnectMax` makes it redial
 * fast (base 100 ms, at most that).
 */
export function agentEnv(options: {
  url: string;
  identifier: string;
  cred: { clientId: string; clientSecret: string };
  allow?: string | null;
  reconnectMax?: string;
}): Record<string, string> {
  const { url, identifier, cred, allow = '127.0.0.1/32', reconnectMax } = options;
  return {
    BOREALIS_CONTROL_PLANE_URL: url,
    BOREALIS_AGENT_IDENTIFIER: identifier,
    BOREALIS_CLIENT_ID: cred.clientId,
    BOREALIS_CLIENT_SECRET: cred.clientSecret,
    ...(allow === null ? {} : { BOREALIS_ALLOW: allow }),
    BOREALIS_AGENT_HEALTH_PORT: '0',
    ...(reconnectMax ? { BOREALIS_RECONNECT_BASE: '100ms', BOREALIS_RECONNECT_MAX: reconnectMax } : {}),
  };
}
