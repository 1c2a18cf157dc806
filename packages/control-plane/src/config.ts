import { join, resolve } from 'node:path';
import { HeartbeatDefaults } from '@borealis/protocol';
import { parseCidr } from '@borealis/protocol/net-guard';
import { BorealisError } from './errors.js';
import { parseDuration } from './util/duration.js';

/**
 * Control-plane options in three stages: what the user writes (environment or code), the same
 * with defaults, and compiled. Validated once at start; every error names the variable and says
 * how to fix it.
 */
export interface ControlPlaneOptions {
  host?: string;
  port?: number;
  /** URL the outside world reaches this control plane at (callback URIs are built from it). */
  publicUrl?: string;
  /** Folder for the embedded default's files: SQLite database, generated token, secret key. */
  dataDir?: string;
  databaseUrl?: string;
  natsUrl?: string;
  /** This replica's name on the cluster bus and as a lease owner; default host name + random. */
  replicaId?: string;
  /** How long a replica's lease on a deployment lasts unrenewed: how soon another takes over. */
  leaseMs?: number;
  apiToken?: string;
  secretKey?: string;
  /** Addresses or CIDRs `direct` webhooks may reach despite the SSRF guard. */
  directAllow?: string[];
  /**
   * Addresses or CIDRs of proxies whose `X-Forwarded-For` is believed (for the caller's address
   * in rate limits and the audit log). Default none: the socket's address is the caller's.
   */
  trustedProxies?: string[];
  callbackTimeoutMs?: number;
  /** How long a `remoteNetworkAgent` webhook waits for an agent of its identifier to connect. */
  agentWaitMs?: number;
  /** Interval of tunnel heartbeats; a peer silent for three of them is dead. */
  heartbeatIntervalMs?: number;
  /** Streams one agent connection may carry at once. */
  agentMaxStreams?: number;
  /** Bytes one agent connection may hold for slow readers, all its streams together. */
  agentMaxBufferedBytes?: number;
  /** Streams all agents together may carry at once on this replica. */
  maxStreams?: number;
  /** Flow-control window per stream, in bytes. */
  streamWindowBytes?: number;
  logLevel?: string;
  /** SIGTERM/SIGINT: how long the drain may take before the process exits anyway. */
  shutdownGraceMs?: number;
  /** `json` (default) or `pretty` (one readable line per entry, for people). */
  logFormat?: string;
  /** Where versions run: `auto` (Kubernetes for targets whose account is a Kubernetes agent), `kubernetes`, `simulated`. */
  targetDriver?: string;
}

export interface CompiledOptions {
  host: string;
  port: number;
  publicUrl: string | undefined;
  dataDir: string;
  databaseUrl: string;
  natsUrl: string | undefined;
  replicaId: string | undefined;
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

export const Defaults = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './.borealis',
  callbackTimeoutMs: 24 * 3_600_000,
  // Long enough for an agent's restart or a rolling upgrade of agents and replicas.
  agentWaitMs: 120_000,
  leaseMs: 30_000,
  // A frozen agent is noticed within 3 intervals + 1 (8 s): the goal is 10 s.
  heartbeatIntervalMs: HeartbeatDefaults.intervalMs,
  agentMaxStreams: 256,
  agentMaxBufferedBytes: 32 * 1024 * 1024,
  maxStreams: 10_000,
  // 1 MiB: a quarter of the throughput of a 256 MiB download was lost to credit round trips at
  // 256 KiB (measured: ~100 vs ~140 MiB/s); memory stays bounded per agent by the buffered cap.
  streamWindowBytes: 1024 * 1024,
  logLevel: 'info',
  // Under Kubernetes' default terminationGracePeriodSeconds (30 s), so the drain ends before SIGKILL.
  shutdownGraceMs: 25_000,
} as const;

type Env = Record<string, string | undefined>;

/** Reads the documented environment variables (DESIGN.md, "Public contract"). */
export function optionsFromEnv(env: Env = process.env): ControlPlaneOptions {
  const o: ControlPlaneOptions = {};
  const str = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const int = (name: string) => {
    const v = str(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw configError(name, v, 'a whole number');
    return n;
  };
  const dur = (name: string) => {
    const v = str(name);
    if (v === undefined) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined || ms <= 0) throw configError(name, v, 'a duration such as 500ms, 30s, 5m or 24h');
    return ms;
  };
  set(o, 'host', str('BOREALIS_HOST'));
  set(o, 'port', int('BOREALIS_PORT'));
  set(o, 'publicUrl', str('BOREALIS_PUBLIC_URL'));
  set(o, 'dataDir', str('BOREALIS_DATA_DIR'));
  set(o, 'databaseUrl', str('BOREALIS_DATABASE_URL'));
  set(o, 'natsUrl', str('BOREALIS_NATS_URL'));
  set(o, 'replicaId', str('BOREALIS_REPLICA_ID'));
  set(o, 'leaseMs', dur('BOREALIS_LEASE_TIME'));
  set(o, 'apiToken', str('BOREALIS_API_TOKEN'));
  set(o, 'secretKey', str('BOREALIS_SECRET_KEY'));
  const allow = str('BOREALIS_DIRECT_ALLOW');
  if (allow !== undefined)
    o.directAllow = allow
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const proxies = str('BOREALIS_TRUSTED_PROXIES');
  if (proxies !== undefined)
    o.trustedProxies = proxies
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  set(o, 'callbackTimeoutMs', dur('BOREALIS_CALLBACK_TIMEOUT'));
  const agentWait = str('BOREALIS_AGENT_WAIT');
  if (agentWait !== undefined) {
    // 0 is allowed: fail at once when no agent is connected.
    const ms = agentWait.trim() === '0' ? 0 : parseDuration(agentWait);
    if (ms === undefined || ms < 0) {
      throw configError(
        'BOREALIS_AGENT_WAIT',
        agentWait,
        'a duration such as 30s, 2m or 10m (0: do not wait)',
      );
    }
    o.agentWaitMs = ms;
  }
  set(o, 'heartbeatIntervalMs', dur('BOREALIS_HEARTBEAT_INTERVAL'));
  set(o, 'agentMaxStreams', int('BOREALIS_AGENT_MAX_STREAMS'));
  set(o, 'agentMaxBufferedBytes', int('BOREALIS_AGENT_MAX_BUFFERED'));
  set(o, 'maxStreams', int('BOREALIS_MAX_STREAMS'));
  set(o, 'streamWindowBytes', int('BOREALIS_STREAM_WINDOW'));
  set(o, 'logLevel', str('BOREALIS_LOG_LEVEL'));
  set(o, 'shutdownGraceMs', dur('BOREALIS_SHUTDOWN_GRACE'));
  set(o, 'logFormat', str('BOREALIS_LOG_FORMAT'));
  set(o, 'targetDriver', str('BOREALIS_TARGET_DRIVER'));
  return o;
}

export function compileOptions(o: ControlPlaneOptions): CompiledOptions {
  const dataDir = resolve(o.dataDir ?? Defaults.dataDir);
  const port = o.port ?? Defaults.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw configError('BOREALIS_PORT', port, 'a port 0..65535');
  if (o.publicUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(o.publicUrl);
    } catch {
      throw configError(
        'BOREALIS_PUBLIC_URL',
        o.publicUrl,
        'an absolute http(s) URL such as https://borealis.example.com',
      );
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw configError('BOREALIS_PUBLIC_URL', o.publicUrl, 'an http:// or https:// URL');
    }
  }
  for (const entry of o.directAllow ?? []) {
    // The parser the SSRF guard uses, so what starts is exactly what the guard understands.
    if (parseCidr(entry) === undefined) {
      throw configError(
        'BOREALIS_DIRECT_ALLOW',
        entry,
        'a comma-separated list of addresses or CIDRs, e.g. 127.0.0.1/32,10.0.0.0/8',
      );
    }
  }
  for (const entry of o.trustedProxies ?? []) {
    if (parseCidr(entry) === undefined) {
      throw configError(
        'BOREALIS_TRUSTED_PROXIES',
        entry,
        "a comma-separated list of your proxies' addresses or CIDRs, e.g. 10.0.0.5,10.1.0.0/16",
      );
    }
  }
  const window = o.streamWindowBytes ?? Defaults.streamWindowBytes;
  if (window < 16 * 1024 || window > 64 * 1024 * 1024) {
    throw configError('BOREALIS_STREAM_WINDOW', window, 'a byte count between 16384 and 67108864');
  }
  // It names NATS subjects: one token, no wildcards or separators.
  if (o.replicaId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(o.replicaId)) {
    throw configError('BOREALIS_REPLICA_ID', o.replicaId, 'letters, digits, - and _ (at most 64)');
  }
  const leaseMs = o.leaseMs ?? Defaults.leaseMs;
  if (!(leaseMs >= 1_000)) throw configError('BOREALIS_LEASE_TIME', leaseMs, 'a duration of at least 1s');
  const positive = (name: string, v: number) => {
    if (!(v >= 1)) throw configError(name, v, 'a number of at least 1');
    return v;
  };
  const targetDriver = o.targetDriver ?? 'auto';
  if (targetDriver !== 'auto' && targetDriver !== 'kubernetes' && targetDriver !== 'simulated')
    throw configError(
      'BOREALIS_TARGET_DRIVER',
      targetDriver,
      'auto (Kubernetes where the account is a Kubernetes agent), kubernetes, or simulated',
    );
  return {
    host: o.host ?? Defaults.host,
    port,
    publicUrl: o.publicUrl?.replace(/\/+$/, ''),
    dataDir,
    databaseUrl: o.databaseUrl ?? join(dataDir, 'borealis.db'),
    natsUrl: o.natsUrl,
    replicaId: o.replicaId,
    leaseMs,
    apiToken: o.apiToken,
    tokenFile: join(dataDir, 'api-token'),
    secretKey: o.secretKey,
    secretKeyFile: join(dataDir, 'secret.key'),
    directAllow: o.directAllow ?? [],
    trustedProxies: o.trustedProxies ?? [],
    callbackTimeoutMs: o.callbackTimeoutMs ?? Defaults.callbackTimeoutMs,
    agentWaitMs: o.agentWaitMs ?? Defaults.agentWaitMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? Defaults.heartbeatIntervalMs,
    agentMaxStreams: positive('BOREALIS_AGENT_MAX_STREAMS', o.agentMaxStreams ?? Defaults.agentMaxStreams),
    agentMaxBufferedBytes: positive(
      'BOREALIS_AGENT_MAX_BUFFERED',
      o.agentMaxBufferedBytes ?? Defaults.agentMaxBufferedBytes,
    ),
    maxStreams: positive('BOREALIS_MAX_STREAMS', o.maxStreams ?? Defaults.maxStreams),
    streamWindowBytes: window,
    logLevel: o.logLevel ?? Defaults.logLevel,
    shutdownGraceMs: o.shutdownGraceMs ?? Defaults.shutdownGraceMs,
    logFormat: logFormatOf(o.logFormat),
    targetDriver,
  };
}

function logFormatOf(v: string | undefined): 'json' | 'pretty' {
  if (v === undefined || v === 'json') return 'json';
  if (v === 'pretty') return 'pretty';
  throw configError('BOREALIS_LOG_FORMAT', v, 'json (the default) or pretty');
}

function set<K extends keyof ControlPlaneOptions>(
  o: ControlPlaneOptions,
  key: K,
  v: ControlPlaneOptions[K] | undefined,
) {
  if (v !== undefined) o[key] = v;
}

function configError(variable: string, value: unknown, expected: string): BorealisError {
  return new BorealisError(
    'BRL_ERR_CONFIG',
    `${variable}=${String(value)} is not valid: expected ${expected}`,
    {
      details: { variable },
    },
  );
}
