import { realpathSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { packageVersion } from '@borealis/protocol';
import type { Command } from 'commander';
import YAML from 'yaml';
import { type ClientConfig, configPath, type Env, resolveClientConfig } from './cli-config.js';
import { type ApiCallInit, apiCall } from './client.js';
import { CliError } from './errors.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The CLI's version, from its package.json (one level above both src/ and dist/). */
export const CLI_VERSION: string = packageVersion(new URL('../package.json', import.meta.url));

/** What every command shares: where output goes, the environment, and the name it was run by. */
export interface Cli {
  out(s: string): void;
  env: Env;
  cwd: string;
  /** How the person ran this program, for hints: `borealis`, `pnpm exec borealis`, `node …/borealis.js`. */
  bin: string;
  /**
   * Wraps a command's action: `(ctx, ...positional arguments)`. The context resolves the global
   * flags (`--url`, `--token`, `-o`) with the environment and config file, lazily.
   */
  run<A extends unknown[]>(
    fn: (ctx: RunContext, ...args: A) => Promise<void> | void,
  ): (...args: unknown[]) => Promise<void>;
}

export interface RunContext {
  cli: Cli;
  /** The command's own options and the global ones. */
  opts: Record<string, unknown> & { url?: string; token?: string; output: string };
  command: Command;
  bin: string;
  out(s: string): void;
  /** Where the control plane is and which token to send (flags > environment > context > defaults). */
  client(): ClientConfig;
  api<T>(method: string, path: string, body?: unknown, init?: ApiCallInit): Promise<T>;
  /** The `-o` format, checked against what this command can print (`text` is `table`). */
  format<F extends string = OutputFormat>(allowed?: readonly F[]): F;
  /** Prints `data` as JSON or YAML, or as `table(data)` for `-o table`. */
  print<T>(data: T, table: (data: T) => string): void;
}

export function createCli(options: { out: (s: string) => void; env?: Env; cwd?: string; bin?: string }): Cli {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const bin = options.bin ?? invokedAs(process.argv, env);
  const cli: Cli = {
    out: options.out,
    env,
    cwd,
    bin,
    run(fn) {
      return async (...args: unknown[]) => {
        const command = args[args.length - 1] as Command;
        const call = fn as (ctx: RunContext, ...positional: unknown[]) => Promise<void> | void;
        await call(createRunContext(cli, command), ...args.slice(0, -2));
      };
    },
  };
  return cli;
}

function createRunContext(cli: Cli, command: Command): RunContext {
  const opts = command.optsWithGlobals() as RunContext['opts'];
  let config: ClientConfig | undefined;
  const ctx: RunContext = {
    cli,
    opts,
    command,
    bin: cli.bin,
    out: cli.out,
    client() {
      config ??= resolveClientConfig({ url: opts.url, token: opts.token }, cli.env, cli.cwd);
      return config;
    },
    api(method, path, body, init) {
      return apiCall(ctx.client(), method, path, body, { bin: cli.bin, ...init });
    },
    format<F extends string>(allowed?: readonly F[]): F {
      const list = (allowed ?? OUTPUT_FORMATS) as readonly string[];
      const raw = opts.output === 'text' ? 'table' : opts.output;
      if (!list.includes(raw))
        throw new CliError(`-o ${opts.output} is not known here; use ${list.join(', ')}`, 2);
      return raw as F;
    },
    print(data, table) {
      const f = ctx.format();
      if (f === 'json') cli.out(JSON.stringify(data, null, 2));
      else if (f === 'yaml') cli.out(YAML.stringify(data).trimEnd());
      else cli.out(table(data));
    },
  };
  return ctx;
}

/**
 * The name to print in hints, as the person would type it again: `borealis` when that is what
 * their PATH runs, `pnpm exec borealis` under pnpm, else `node <path>`.
 */
export function invokedAs(argv: string[], env: Env): string {
  const script = argv[1] ?? 'borealis';
  const name = basename(script);
  if (name === 'borealis') return 'borealis';
  try {
    const real = realpathSync(script);
    for (const dir of (env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      try {
        if (realpathSync(join(dir, 'borealis')) === real) return 'borealis';
      } catch {
        // not in this folder
      }
    }
  } catch {
    // the script path cannot be resolved: fall through
  }
  if (env.npm_command === 'exec' && env.npm_config_user_agent?.startsWith('pnpm/'))
    return 'pnpm exec borealis';
  if (env.npm_command === 'exec') return 'npx borealis';
  return `node ${script}`;
}

/** Commands that never call the control plane, with the environment they read instead. */
const offlineEnv = new WeakMap<Command, string[]>();

/** Marks a command as not calling the control plane; `env` lists what it does read, for `--help`. */
export function offline(cmd: Command, env: string[] = []): Command {
  offlineEnv.set(cmd, env);
  return cmd;
}

export function apiEnvironmentHelp(env: Env): string[] {
  return [
    `BOREALIS_URL        the control plane's URL (--url wins; default: the context's, else http://127.0.0.1:8080)`,
    'BOREALIS_PORT       without BOREALIS_URL: http://127.0.0.1:PORT',
    "BOREALIS_API_TOKEN  the API token (--token wins; default: the context's, else the data dir's api-token)",
    'BOREALIS_CONTEXT    which context of the config file to use (default: its currentContext)',
    `BOREALIS_CONFIG     the config file (now: ${configPath(env)})`,
    'BOREALIS_DATA_DIR   where to find api-token when nothing else names a token (default: the nearest ./.borealis above this folder)',
  ];
}

/** Adds an "Environment:" section to every command's `--help`. */
export function addEnvironmentHelp(program: Command, env: Env): void {
  const walk = (cmd: Command) => {
    if (cmd.commands.length === 0) {
      const lines = offlineEnv.get(cmd) ?? apiEnvironmentHelp(env);
      cmd.addHelpText(
        'after',
        lines.length
          ? `\nEnvironment:\n${lines.map((l) => `  ${l}`).join('\n')}`
          : '\nEnvironment: none (works offline)',
      );
    }
    for (const sub of cmd.commands) walk(sub);
  };
  walk(program);
  program.addHelpText(
    'after',
    `\nEnvironment (commands that call the control plane):\n${apiEnvironmentHelp(env)
      .map((l) => `  ${l}`)
      .join('\n')}`,
  );
}
