import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { HeartbeatDefaults } from '@borealis/protocol';
import { describe, expect, it } from 'vitest';
import {
  type ConfigProblem,
  compileControlPlaneOptions,
  compileOptions,
  controlPlaneOptionsFromEnv,
  Defaults,
  OptionEnv,
  optionsFromEnv,
} from './control-plane-options.js';
import { type BorealisError, isBorealisError } from './errors.js';
import { SERVER_HELP } from './program-args.js';

function refusal(env: Record<string, string>, context?: { sharedBus?: boolean }): BorealisError {
  try {
    compileControlPlaneOptions(controlPlaneOptionsFromEnv(env), context);
  } catch (err) {
    if (isBorealisError(err, 'BRL_ERR_CONFIG')) return err;
    throw err;
  }
  throw new Error('the options compiled');
}

describe('control-plane options', () => {
  it('applies each default once, from one table', () => {
    const o = compileControlPlaneOptions(controlPlaneOptionsFromEnv({}));
    const dataDir = resolve('./.borealis');
    expect(o).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      publicUrl: undefined,
      dataDir,
      databaseUrl: join(dataDir, 'borealis.db'),
      embeddedDatabase: true,
      database: { kind: 'sqlite', path: join(dataDir, 'borealis.db') },
      tokenFile: join(dataDir, 'api-token'),
      secretKeyFile: join(dataDir, 'secret.key'),
      natsUrl: undefined,
      clustered: false,
      leaseMs: 30_000,
      callbackTimeoutMs: 24 * 3_600_000,
      agentWaitMs: 120_000,
      heartbeatIntervalMs: HeartbeatDefaults.intervalMs,
      agentMaxStreams: 256,
      agentMaxBufferedBytes: 32 * 1024 * 1024,
      maxStreams: 10_000,
      // The product's window, deliberately above the library's 256 KiB.
      streamWindowBytes: 1024 * 1024,
      logLevel: 'info',
      shutdownGraceMs: 25_000,
      logFormat: 'json',
      targetDriver: 'auto',
      directAllow: [],
      trustedProxies: [],
    });
    // Every default is one the table holds, and every option has its variable.
    for (const key of Object.keys(Defaults)) expect(OptionEnv).toHaveProperty(key);
    for (const variable of Object.values(OptionEnv)) expect(variable).toMatch(/^BOREALIS_[A-Z_]+$/);
  });

  it('reads every variable of the table, numbers and durations as people write them', () => {
    const o = compileControlPlaneOptions(
      controlPlaneOptionsFromEnv({
        BOREALIS_HOST: '0.0.0.0',
        BOREALIS_PORT: '9090',
        BOREALIS_PUBLIC_URL: 'https://borealis.example.com/',
        BOREALIS_LEASE_TIME: '1m',
        BOREALIS_CALLBACK_TIMEOUT: '2d',
        BOREALIS_AGENT_WAIT: '0',
        BOREALIS_STREAM_WINDOW: '65536',
        BOREALIS_DIRECT_ALLOW: '127.0.0.1/32, 10.0.0.0/8',
        BOREALIS_REPLICA_ID: 'r-1',
      }),
    );
    expect(o).toMatchObject({
      host: '0.0.0.0',
      port: 9090,
      publicUrl: 'https://borealis.example.com',
      leaseMs: 60_000,
      callbackTimeoutMs: 2 * 86_400_000,
      agentWaitMs: 0,
      streamWindowBytes: 65_536,
      directAllow: ['127.0.0.1/32', '10.0.0.0/8'],
      replicaId: 'r-1',
    });
  });

  it('reports every problem at once, each with its variable and its fix', () => {
    const err = refusal({
      BOREALIS_PORT: '70000',
      BOREALIS_LEASE_TIME: '30',
      BOREALIS_STREAM_WINDOW: '1024',
      BOREALIS_LOG_FORMAT: 'xml',
      BOREALIS_DIRECT_ALLOW: '10.0.0.0/8,not-an-address',
      BOREALIS_MAX_STREAMS: 'many',
    });
    const problems = err.details?.problems as ConfigProblem[];
    expect(problems.map((p) => p.variable)).toEqual([
      'BOREALIS_PORT',
      'BOREALIS_DIRECT_ALLOW',
      'BOREALIS_STREAM_WINDOW',
      'BOREALIS_LEASE_TIME',
      'BOREALIS_MAX_STREAMS',
      'BOREALIS_LOG_FORMAT',
    ]);
    expect(err.details?.variable).toBe('BOREALIS_PORT');
    expect(err.message).toBe(
      [
        '6 configuration problems:',
        '  - BOREALIS_PORT=70000 is not valid: expected a port 0..65535',
        '  - BOREALIS_DIRECT_ALLOW=not-an-address is not valid: expected a comma-separated list of addresses or CIDRs, e.g. 127.0.0.1/32,10.0.0.0/8',
        '  - BOREALIS_STREAM_WINDOW=1024 is not valid: expected a byte count between 16384 and 67108864',
        '  - BOREALIS_LEASE_TIME=30 is not valid: expected a duration of at least 1s (a bare number is ambiguous: write 30s or 30ms)',
        '  - BOREALIS_MAX_STREAMS=many is not valid: expected a whole number',
        '  - BOREALIS_LOG_FORMAT=xml is not valid: expected json (the default) or pretty',
      ].join('\n'),
    );
    // One problem reads as it always did.
    expect(refusal({ BOREALIS_LOG_FORMAT: 'xml' }).message).toBe(
      'BOREALIS_LOG_FORMAT=xml is not valid: expected json (the default) or pretty',
    );
  });

  it('a cluster on PostgreSQL needs BOREALIS_SECRET_KEY, refused before anything opens', () => {
    const postgres = { BOREALIS_DATABASE_URL: 'postgres://borealis@127.0.0.1:1/none' };
    for (const err of [
      refusal({ ...postgres, BOREALIS_NATS_URL: 'nats://127.0.0.1:4222' }),
      refusal(postgres, { sharedBus: true }),
    ]) {
      expect(err.details?.variable).toBe('BOREALIS_SECRET_KEY');
      expect(err.message).toMatch(
        /^BOREALIS_SECRET_KEY is required when replicas share a PostgreSQL database/,
      );
    }
    // Alone, or with the key, it starts.
    expect(compileControlPlaneOptions(controlPlaneOptionsFromEnv(postgres)).clustered).toBe(false);
    expect(
      compileControlPlaneOptions(
        controlPlaneOptionsFromEnv({ ...postgres, BOREALIS_NATS_URL: 'nats://x', BOREALIS_SECRET_KEY: 'k' }),
      ).clustered,
    ).toBe(true);
    // A bad database URL is one more problem, not a different kind of failure.
    expect(
      refusal({ BOREALIS_DATABASE_URL: 'mysql://x', BOREALIS_PORT: 'x' }).details?.problems,
    ).toHaveLength(2);
  });

  it('derives the replica id: stable alone (a restart takes its deployments back), new per process in a cluster', () => {
    const alone = (dataDir: string) => compileControlPlaneOptions({ dataDir }).replicaId;
    expect(alone('/tmp/a')).toBe(alone('/tmp/a'));
    expect(alone('/tmp/a')).not.toBe(alone('/tmp/b'));
    expect(alone('/tmp/a')).toMatch(
      new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:[0-9a-f]{8}$`),
    );
    const clustered = () => compileControlPlaneOptions({ dataDir: '/tmp/a' }, { sharedBus: true }).replicaId;
    expect(clustered()).toMatch(/^[A-Za-z0-9_-]+-[0-9a-f]{8}$/);
    expect(clustered()).not.toBe(clustered());
    expect(compileControlPlaneOptions({ replicaId: 'named' }, { sharedBus: true }).replicaId).toBe('named');
  });

  it('keeps the names config.ts had, and --help names every variable it always did with the defaults of the table', () => {
    expect(optionsFromEnv).toBe(controlPlaneOptionsFromEnv);
    expect(compileOptions).toBe(compileControlPlaneOptions);
    expect(SERVER_HELP).toContain(
      'BOREALIS_STREAM_WINDOW       flow-control window per stream, bytes (default 1048576)',
    );
    expect(SERVER_HELP).toContain(`tunnel heartbeat (default ${HeartbeatDefaults.intervalMs / 1000}s)`);
  });
});
