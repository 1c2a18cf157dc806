import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { HeartbeatDefaults, isBareNumber, Limits, parseDuration, withDefaults } from '@borealis/protocol';
import { parseCidr } from '@borealis/protocol/net-guard';
import { BorealisError, isBorealisError } from './errors.js';
import {
  type DatabaseTarget,
  DEFAULT_DATA_DIR,
  EMBEDDED_DATABASE_FILE,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from './store/database-url.js';
import { DEFAULT_AGENT_WAIT_MS } from './webhooks/agent-wait.js';

/**
 * The control plane's options in three stages, like the agent's (`agent-options.ts`): what the
 * user writes (`ControlPlaneOptions`: numbers from code, or text as it comes from the
 * environment), the same with defaults filled in, and compiled (parsed, checked, and the rules
 * that follow from several options applied: the replica id, the secret key a cluster needs).
 * Validated once, at start; every problem is reported at once, each naming its variable and how
 * to fix it.
 */
export interface ControlPlaneOptions {
  host?: string;
  /** 0: any free port. */
  port?: number | string;
  /** URL the outside world reaches this control plane at (callback URIs are built from it). */
  publicUrl?: string;
  /** Folder for the embedded default's files: SQLite database, generated token, secret key. */
  dataDir?: string;
  databaseUrl?: string;
  natsUrl?: string;
  /** This replica's name on the cluster bus and as a lease owner; default derived (see compile). */
  replicaId?: string;
  /** How long a replica's lease on a deployment lasts unrenewed: how soon another takes over. */
  leaseMs?: number | string;
  apiToken?: string;
  secretKey?: string;
  /** Addresses or CIDRs `direct` webhooks may reach despite the SSRF guard (list, or comma-separated). */
  directAllow?: readonly string[] | string;
  /**
   * Addresses or CIDRs of proxies whose `X-Forwarded-For` is believed (for the caller's address
   * in rate limits and the audit log). Default none: the socket's address is the caller's.
   */
  trustedProxies?: readonly string[] | string;
  callbackTimeoutMs?: number | string;
  /** How long a `remoteNetworkAgent` webhook waits for an agent of its identifier to connect. */
  agentWaitMs?: number | string;
  /** Interval of tunnel heartbeats; a peer silent for three of them is dead. */
  heartbeatIntervalMs?: number | string;
  /** Streams one agent connection may carry at once. */
  agentMaxStreams?: number | string;
  /** Bytes one agent connection may hold for slow readers, all its streams together. */
  agentMaxBufferedBytes?: number | string;
  /** Streams all agents together may carry at once on this replica. */
  maxStreams?: number | string;
  /** Flow-control window per stream, in bytes. */
  streamWindowBytes?: number | string;
  logLevel?: string;
  /** SIGTERM/SIGINT: how long the drain may take before the process exits anyway. */
  shutdownGraceMs?: number | string;
  /** `json` (default) or `pretty` (one readable line per entry, for people). */
  logFormat?: string;
  /** Where versions run: `auto` (Kubernetes for targets whose account is a Kubernetes agent), `kubernetes`, `simulated`. */
  targetDriver?: string;
}

/** Where each option comes from, so errors name what the user actually wrote. */
export const OptionEnv = {
  host: 'BOREALIS_HOST',
  port: 'BOREALIS_PORT',
  publicUrl: 'BOREALIS_PUBLIC_URL',
  dataDir: 'BOREALIS_DATA_DIR',
  databaseUrl: 'BOREALIS_DATABASE_URL',
  natsUrl: 'BOREALIS_NATS_URL',
  replicaId: 'BOREALIS_REPLICA_ID',
  leaseMs: 'BOREALIS_LEASE_TIME',
  apiToken: 'BOREALIS_API_TOKEN',
  secretKey: 'BOREALIS_SECRET_KEY',
  directAllow: 'BOREALIS_DIRECT_ALLOW',
  trustedProxies: 'BOREALIS_TRUSTED_PROXIES',
  callbackTimeoutMs: 'BOREALIS_CALLBACK_TIMEOUT',
  agentWaitMs: 'BOREALIS_AGENT_WAIT',
  heartbeatIntervalMs: 'BOREALIS_HEARTBEAT_INTERVAL',
  agentMaxStreams: 'BOREALIS_AGENT_MAX_STREAMS',
  agentMaxBufferedBytes: 'BOREALIS_AGENT_MAX_BUFFERED',
  maxStreams: 'BOREALIS_MAX_STREAMS',
  streamWindowBytes: 'BOREALIS_STREAM_WINDOW',
  logLevel: 'BOREALIS_LOG_LEVEL',
  shutdownGraceMs: 'BOREALIS_SHUTDOWN_GRACE',
  logFormat: 'BOREALIS_LOG_FORMAT',
  targetDriver: 'BOREALIS_TARGET_DRIVER',
} as const satisfies Record<keyof ControlPlaneOptions, `BOREALIS_${string}`>;

export const Defaults = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: DEFAULT_DATA_DIR,
  leaseMs: 30_000,
  callbackTimeoutMs: 24 * 3_600_000,
  // Long enough for an agent's restart or a rolling upgrade of agents and replicas.
  agentWaitMs: DEFAULT_AGENT_WAIT_MS,
  // A frozen agent is noticed within 3 intervals + 1 (8 s): the issue's goal is 10 s.
  heartbeatIntervalMs: HeartbeatDefaults.intervalMs,
  agentMaxStreams: 256,
  agentMaxBufferedBytes: 32 * 1024 * 1024,
  maxStreams: 10_000,
  // 1 MiB, deliberately above the library's 256 KiB (`DEFAULT_WINDOW_BYTES`): a quarter of the
  // throughput of a 256 MiB download was lost to credit round trips at 256 KiB (measured: ~100
  // vs ~140 MiB/s); memory stays bounded per agent by the buffered cap.
  streamWindowBytes: 1024 * 1024,
  logLevel: 'info',
  // Under Kubernetes' default terminationGracePeriodSeconds (30 s), so the drain ends before SIGKILL.
  shutdownGraceMs: 25_000,
  logFormat: 'json',
  targetDriver: 'auto',
} as const;

/** Smallest stream window accepted: below it credit round trips dominate any transfer. */
const MIN_WINDOW_BYTES = 16 * 1024;

export type ControlPlaneOptionsWithDefaults = ControlPlaneOptions &
  Required<Pick<ControlPlaneOptions, keyof typeof Defaults>>;

export interface CompiledControlPlaneOptions {
  host: string;
  port: number;
  publicUrl: string | undefined;
  dataDir: string;
  databaseUrl: string;
  /** The database is the data folder's own SQLite file (no BOREALIS_DATABASE_URL). */
  embeddedDatabase: boolean;
  /** The backend `databaseUrl` names (SQLite file or PostgreSQL). */
  database: DatabaseTarget;
  natsUrl: string | undefined;
  /** Whether other replicas may share the database: a bus (NATS, or one given in code) is set. */
  clustered: boolean;
  /** This replica's name: configured, or derived (see `replicaIdFor`). */
  replicaId: string;
  leaseMs: number;
  apiToken: string | undefined;
  tokenFile: string;
  secretKey: string | undefined;
  secretKeyFile: string;
  directAllow: string[];
  trustedProxies: string[];
  callbackTimeoutMs: number;
  agentWaitMs: number;
  heartbeatIntervalMs: number;
  agentMaxStreams: number;
  agentMaxBufferedBytes: number;
  maxStreams: number;
  streamWindowBytes: number;
  logLevel: string;
  shutdownGraceMs: number;
  logFormat: 'json' | 'pretty';
  targetDriver: 'auto' | 'kubernetes' | 'simulated';
}

type Env = Record<string, string | undefined>;

/** Reads the documented environment variables (DESIGN.md, "Public contract"); unset or empty ones are left to the defaults. */
export function controlPlaneOptionsFromEnv(env: Env = process.env): ControlPlaneOptions {
  const options: Record<string, string> = {};
  for (const [key, variable] of Object.entries(OptionEnv)) {
    const value = env[variable];
    if (value !== undefined && value !== '') options[key] = value;
  }
  return options as ControlPlaneOptions;
}

/** Every key of `Defaults` the options leave unset, filled in. */
export function addDefaults(o: ControlPlaneOptions): ControlPlaneOptionsWithDefaults {
  return withDefaults(o, Defaults);
}

/** One problem: the variable that holds it and the whole sentence saying what to do. */
export interface ConfigProblem {
  variable: string;
  message: string;
}

/**
 * Validates everything at once; throws one `BRL_ERR_CONFIG` listing each problem with its fix
 * (`details.problems`; `details.variable` names the first). `context.sharedBus`: a cluster bus
 * given in code (tests) makes this replica clustered like `natsUrl` does.
 */
export function compileControlPlaneOptions(
  input: ControlPlaneOptions,
  context: { sharedBus?: boolean } = {},
): CompiledControlPlaneOptions {
  const o = addDefaults(input);
  const problems: ConfigProblem[] = [];
  const invalid = (key: keyof typeof OptionEnv, value: unknown, expected: string) =>
    problems.push({
      variable: OptionEnv[key],
      message: `${OptionEnv[key]}=${String(value)} is not valid: expected ${expected}`,
    });
  const whole = (key: keyof typeof OptionEnv, value: number | string, min: number, expected: string) => {
    const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isInteger(n) || n < 0) invalid(key, value, 'a whole number');
    else if (n < min) invalid(key, value, expected);
    else return n;
    return undefined;
  };
  const duration = (key: keyof typeof OptionEnv, value: number | string, expected: string, min = 1) => {
    const ms = parseDuration(value, 'refuse');
    if (ms !== undefined && ms >= min) return ms;
    const bare = isBareNumber(value) && Number(value) !== 0 ? String(value).trim() : undefined;
    invalid(
      key,
      value,
      bare ? `${expected} (a bare number is ambiguous: write ${bare}s or ${bare}ms)` : expected,
    );
    return 0;
  };
  const list = (value: readonly string[] | string | undefined) =>
    (typeof value === 'string' ? value.split(',') : (value ?? [])).map((s) => s.trim()).filter(Boolean);

  const port = whole('port', o.port, 0, 'a port 0..65535') ?? 0;
  if (port > 65535) invalid('port', o.port, 'a port 0..65535');
  if (o.publicUrl !== undefined) {
    const url = URL.canParse(o.publicUrl) ? new URL(o.publicUrl) : undefined;
    if (!url)
      invalid('publicUrl', o.publicUrl, 'an absolute http(s) URL such as https://borealis.example.com');
    else if (url.protocol !== 'http:' && url.protocol !== 'https:')
      invalid('publicUrl', o.publicUrl, 'an http:// or https:// URL');
  }
  const dataDir = resolve(o.dataDir);
  const databaseUrl = o.databaseUrl ?? join(dataDir, EMBEDDED_DATABASE_FILE);
  let database: DatabaseTarget = { kind: 'sqlite', path: databaseUrl };
  try {
    database = parseDatabaseUrl(databaseUrl);
  } catch (err) {
    if (!isBorealisError(err, 'BRL_ERR_CONFIG')) throw err;
    problems.push({ variable: OptionEnv.databaseUrl, message: err.message });
  }
  // The parser the SSRF guard uses, so what starts is exactly what the guard understands.
  const cidrs = (key: 'directAllow' | 'trustedProxies', expected: string) => {
    const entries = list(o[key]);
    for (const entry of entries.filter((e) => parseCidr(e) === undefined)) invalid(key, entry, expected);
    return entries;
  };
  const directAllow = cidrs(
    'directAllow',
    'a comma-separated list of addresses or CIDRs, e.g. 127.0.0.1/32,10.0.0.0/8',
  );
  const trustedProxies = cidrs(
    'trustedProxies',
    "a comma-separated list of your proxies' addresses or CIDRs, e.g. 10.0.0.5,10.1.0.0/16",
  );
  const window = whole('streamWindowBytes', o.streamWindowBytes, 0, '') ?? MIN_WINDOW_BYTES;
  if (window < MIN_WINDOW_BYTES || window > Limits.maxWindowBytes)
    invalid(
      'streamWindowBytes',
      o.streamWindowBytes,
      `a byte count between ${MIN_WINDOW_BYTES} and ${Limits.maxWindowBytes}`,
    );
  // It names NATS subjects: one token, no wildcards or separators.
  if (o.replicaId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(o.replicaId))
    invalid('replicaId', o.replicaId, 'letters, digits, - and _ (at most 64)');
  const leaseMs = duration('leaseMs', o.leaseMs, 'a duration of at least 1s', 1_000);
  const durationText = 'a duration such as 500ms, 30s, 5m or 24h';
  const callbackTimeoutMs = duration('callbackTimeoutMs', o.callbackTimeoutMs, durationText);
  // 0 is allowed: fail at once when no agent is connected.
  const agentWaitMs = duration(
    'agentWaitMs',
    o.agentWaitMs,
    'a duration such as 30s, 2m or 10m (0: do not wait)',
    0,
  );
  const heartbeatIntervalMs = duration('heartbeatIntervalMs', o.heartbeatIntervalMs, durationText);
  const shutdownGraceMs = duration('shutdownGraceMs', o.shutdownGraceMs, durationText);
  const atLeastOne = 'a number of at least 1';
  const agentMaxStreams = whole('agentMaxStreams', o.agentMaxStreams, 1, atLeastOne) ?? 0;
  const agentMaxBufferedBytes = whole('agentMaxBufferedBytes', o.agentMaxBufferedBytes, 1, atLeastOne) ?? 0;
  const maxStreams = whole('maxStreams', o.maxStreams, 1, atLeastOne) ?? 0;
  const oneOf = <T extends string>(
    key: keyof typeof OptionEnv,
    value: string,
    allowed: readonly T[],
    expected: string,
  ) => {
    if (!(allowed as readonly string[]).includes(value)) invalid(key, value, expected);
    return value as T;
  };
  const logFormat = oneOf('logFormat', o.logFormat, ['json', 'pretty'], 'json (the default) or pretty');
  const targetDriver = oneOf(
    'targetDriver',
    o.targetDriver,
    ['auto', 'kubernetes', 'simulated'],
    'auto (Kubernetes where the account is a Kubernetes agent), kubernetes, or simulated',
  );
  const clustered = o.natsUrl !== undefined || context.sharedBus === true;
  if (clustered && database.kind === 'postgres' && o.secretKey === undefined)
    problems.push({
      variable: OptionEnv.secretKey,
      message:
        'BOREALIS_SECRET_KEY is required when replicas share a PostgreSQL database (BOREALIS_NATS_URL is set): without it each replica would generate its own key file and could not read the secrets the others stored. Generate one with `openssl rand -base64 32` and give the same value to every replica',
    });

  if (problems.length > 0) throw configError(problems);
  return {
    host: o.host,
    port,
    publicUrl: o.publicUrl?.replace(/\/+$/, ''),
    dataDir,
    databaseUrl,
    embeddedDatabase: database.kind === 'sqlite' && database.path === join(dataDir, EMBEDDED_DATABASE_FILE),
    database,
    natsUrl: o.natsUrl,
    clustered,
    replicaId: o.replicaId ?? replicaIdFor(database, clustered),
    leaseMs,
    apiToken: o.apiToken,
    tokenFile: join(dataDir, 'api-token'),
    secretKey: o.secretKey,
    secretKeyFile: join(dataDir, 'secret.key'),
    directAllow,
    trustedProxies,
    callbackTimeoutMs,
    agentWaitMs,
    heartbeatIntervalMs,
    agentMaxStreams,
    agentMaxBufferedBytes,
    maxStreams,
    streamWindowBytes: window,
    logLevel: o.logLevel,
    shutdownGraceMs,
    logFormat,
    targetDriver,
  };
}

/**
 * Leases and bus subjects name the replica. Alone, a stable name (host and database) lets a
 * restart take its own deployments back at once; in a cluster each process is new (its old
 * leases expire), so the name is the host plus a random part.
 */
export function replicaIdFor(database: DatabaseTarget, clustered: boolean): string {
  if (clustered)
    return `${hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 40)}-${randomBytes(4).toString('hex')}`;
  const location = redactDatabaseUrl(database);
  return `${hostname()}:${createHash('sha256').update(location).digest('hex').slice(0, 8)}`;
}

/** One error for every problem: a single one reads as before, several as a list. */
function configError(problems: ConfigProblem[]): BorealisError {
  const message =
    problems.length === 1
      ? problems[0]!.message
      : `${problems.length} configuration problems:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`;
  return new BorealisError('BRL_ERR_CONFIG', message, {
    details: { variable: problems[0]!.variable, problems },
  });
}

/** The names these had in `config.ts`, kept for code and tests that import them. */
export const optionsFromEnv = controlPlaneOptionsFromEnv;
export const compileOptions = compileControlPlaneOptions;
export type CompiledOptions = CompiledControlPlaneOptions;
