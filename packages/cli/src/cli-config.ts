import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import { CliError } from './errors.js';

export type Env = Record<string, string | undefined>;

/** One named place the CLI can talk to, as kubectl's contexts: a URL and how to authenticate. */
export interface CliContextEntry {
  url?: string;
  /** A token written in the file itself (the file is kept 0600). */
  token?: string;
  /** A file holding the token, e.g. the control plane's `<data dir>/api-token`; absolute. */
  tokenFile?: string;
}

export interface CliConfigFile {
  currentContext?: string;
  contexts: Record<string, CliContextEntry>;
}

export const DEFAULT_URL_HOST = 'http://127.0.0.1';
export const DEFAULT_PORT = 8080;

/**
 * Where the configuration lives: `BOREALIS_CONFIG`, else `$XDG_CONFIG_HOME/borealis/config`, else
 * `~/.config/borealis/config`.
 */
export function configPath(env: Env): string {
  if (env.BOREALIS_CONFIG) return resolve(env.BOREALIS_CONFIG);
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'borealis', 'config');
}

export function readConfigFile(path: string): CliConfigFile {
  if (!existsSync(path)) return { contexts: {} };
  let parsed: unknown;
  try {
    parsed = YAML.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(
      `${path}: not valid YAML (${(err as Error).message.split('\n')[0]}); fix it, or move it away and run \`config set-context\` again`,
      2,
    );
  }
  if (parsed === null || parsed === undefined) return { contexts: {} };
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CliError(`${path}: expected a mapping with currentContext and contexts`, 2);
  const raw = parsed as { currentContext?: unknown; contexts?: unknown };
  const contexts: Record<string, CliContextEntry> = {};
  if (raw.contexts !== undefined) {
    if (typeof raw.contexts !== 'object' || raw.contexts === null || Array.isArray(raw.contexts))
      throw new CliError(`${path}: contexts must be a mapping of name to {url, token or tokenFile}`, 2);
    for (const [name, entry] of Object.entries(raw.contexts as Record<string, unknown>)) {
      if (typeof entry !== 'object' || entry === null)
        throw new CliError(`${path}: context ${name} must be a mapping with url and token or tokenFile`, 2);
      const e = entry as Record<string, unknown>;
      const out: CliContextEntry = {};
      for (const key of ['url', 'token', 'tokenFile'] as const) {
        if (e[key] === undefined) continue;
        if (typeof e[key] !== 'string')
          throw new CliError(`${path}: contexts.${name}.${key} must be a string`, 2);
        out[key] = e[key] as string;
      }
      contexts[name] = out;
    }
  }
  if (raw.currentContext !== undefined && typeof raw.currentContext !== 'string')
    throw new CliError(`${path}: currentContext must be a context's name`, 2);
  return {
    ...(raw.currentContext ? { currentContext: raw.currentContext as string } : {}),
    contexts,
  };
}

/** Writes atomically and 0600: a context may hold a token. */
export function writeConfigFile(path: string, config: CliConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(
    tmp,
    `# Borealis CLI configuration (borealis config set-context / use-context write it).\n${YAML.stringify(config)}`,
    { mode: 0o600 },
  );
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** What the global flags say (`--url`, `--token`). */
export interface GlobalFlags {
  url?: string;
  token?: string;
}

export interface ClientConfig {
  url: string;
  token: string | undefined;
  /** Where the URL came from, for error messages: `--url`, `BOREALIS_URL`, `context prod`, … */
  urlSource: string;
  /** Where the token came from: `--token`, `BOREALIS_API_TOKEN`, a file path, or `none`. */
  tokenSource: string;
  /** The context in use, if any. */
  context: string | undefined;
  configFile: string;
}

/**
 * Where the control plane is and how to authenticate, by precedence: flags (`--url`, `--token`),
 * then the environment (`BOREALIS_URL`, or `BOREALIS_PORT` alone for a local server;
 * `BOREALIS_API_TOKEN`), then the current context of the config file, then the defaults
 * (`http://127.0.0.1:8080`; the token file of the control plane's data dir: `$BOREALIS_DATA_DIR`,
 * else the nearest `.borealis/api-token` in this folder or one above it).
 */
export function resolveClientConfig(flags: GlobalFlags, env: Env, cwd = process.cwd()): ClientConfig {
  const file = configPath(env);
  const config = readConfigFile(file);
  const contextName = env.BOREALIS_CONTEXT || config.currentContext;
  let context: CliContextEntry | undefined;
  if (contextName !== undefined) {
    context = config.contexts[contextName];
    if (!context) {
      const known = Object.keys(config.contexts);
      throw new CliError(
        `Context ${contextName} (${env.BOREALIS_CONTEXT ? 'BOREALIS_CONTEXT' : `currentContext in ${file}`}) does not exist; ${known.length ? `known: ${known.join(', ')}` : 'none is defined'}. Create it with \`config set-context ${contextName} --url URL --token-file FILE\``,
        2,
      );
    }
  }
  const ctxLabel = `context ${contextName} in ${file}`;

  let url: string;
  let urlSource: string;
  if (flags.url) [url, urlSource] = [flags.url, '--url'];
  else if (env.BOREALIS_URL) [url, urlSource] = [env.BOREALIS_URL, 'BOREALIS_URL'];
  else if (env.BOREALIS_PORT) {
    const port = Number(env.BOREALIS_PORT);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new CliError(
        `BOREALIS_PORT=${env.BOREALIS_PORT} is not a port; set a number 1..65535 or BOREALIS_URL`,
        2,
      );
    [url, urlSource] = [`${DEFAULT_URL_HOST}:${port}`, 'BOREALIS_PORT'];
  } else if (context?.url) [url, urlSource] = [context.url, ctxLabel];
  else [url, urlSource] = [`${DEFAULT_URL_HOST}:${DEFAULT_PORT}`, 'the default'];
  url = checkUrl(url, urlSource);

  let token: string | undefined;
  let tokenSource = 'none';
  if (flags.token) [token, tokenSource] = [flags.token, '--token'];
  else if (env.BOREALIS_API_TOKEN) [token, tokenSource] = [env.BOREALIS_API_TOKEN, 'BOREALIS_API_TOKEN'];
  else if (context?.token) [token, tokenSource] = [context.token, ctxLabel];
  else if (context?.tokenFile) {
    const path = isAbsolute(context.tokenFile)
      ? context.tokenFile
      : resolve(dirname(file), context.tokenFile);
    [token, tokenSource] = [readTokenFile(path, `tokenFile of ${ctxLabel}`), path];
  } else {
    const path = defaultTokenFile(env, cwd);
    if (path) [token, tokenSource] = [readTokenFile(path, 'the data dir'), path];
  }
  return { url, token, urlSource, tokenSource, context: contextName, configFile: file };
}

function checkUrl(raw: string, source: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`${source}: ${raw} is not a URL; give one such as http://127.0.0.1:8080`, 2);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new CliError(`${source}: ${raw} is not an http:// or https:// URL`, 2);
  return raw.replace(/\/+$/, '');
}

function readTokenFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new CliError(
      `Cannot read the token file ${path} (${what}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; fix the path or pass --token`,
      2,
    );
  }
  if (!text) throw new CliError(`The token file ${path} (${what}) is empty`, 2);
  return text;
}

/**
 * The token file the embedded control plane writes: `$BOREALIS_DATA_DIR/api-token`, else the
 * nearest `.borealis/api-token` in this folder or one above it (the server's default data dir is
 * `./.borealis` where it was started, so any folder inside that one works).
 */
export function defaultTokenFile(env: Env, cwd: string): string | undefined {
  if (env.BOREALIS_DATA_DIR) {
    const path = join(resolve(cwd, env.BOREALIS_DATA_DIR), 'api-token');
    return existsSync(path) ? path : undefined;
  }
  for (let dir = resolve(cwd); ; ) {
    const path = join(dir, '.borealis', 'api-token');
    if (existsSync(path)) return path;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
