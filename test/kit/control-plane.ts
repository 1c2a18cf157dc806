import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ControlPlane,
  type CreateControlPlaneOptions,
  createControlPlane,
} from '@borealis/control-plane';
import pino from 'pino';
import { createInProcessNetwork } from '../../packages/control-plane/src/cluster/in-process-bus.js';
import { fetchJson } from './fetch-json.js';

export { fetchJson };

export const TEST_API_TOKEN = 'test-token-0123456789';

export interface TestControlPlaneOptions extends CreateControlPlaneOptions {
  /**
   * Keep the log lines at this level in `logs`. Without it the log is silent, or goes to stdout at
   * the level BOREALIS_TEST_LOG names (to watch a failing test). Ignored with `logger`.
   */
  log?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Call `listen()` before returning (default true). */
  listen?: boolean;
}

export interface TestControlPlane {
  cp: ControlPlane;
  /** The data folder: a fresh temporary one unless the caller passed `dataDir`. */
  dataDir: string;
  /** Base URL it listens on ('' with `listen: false`). */
  url: string;
  /** The admin API token (`apiToken`, default TEST_API_TOKEN). */
  token: string;
  /** The raw JSON log lines, with `log`. */
  logs: string[];
  /** `logs`, parsed (kept up to date as lines come). */
  records: Array<Record<string, unknown>>;
  /**
   * An API call as the admin (or `as.token`): a string body goes as it is (`as.contentType`,
   * default JSON), anything else as JSON; the answer's JSON (undefined for an empty body).
   */
  api<T = any>(
    method: string,
    path: string,
    body?: unknown,
    as?: { token?: string; contentType?: string },
  ): Promise<{ status: number; json: T; headers: Headers }>;
  /** Closes the control plane but keeps its data folder (to start another on it); `close` removes it later. */
  stop(): Promise<void>;
  /** Closes the control plane (unless stopped), then removes the data folder it made (never one it was given). */
  close(): Promise<void>;
}

const open = new Set<TestControlPlane>();

/**
 * A real control plane in this process: a temporary data folder, an admin token, a silent (or
 * captured) logger, port 0, listening. `overrides` are `createControlPlane` options and win.
 */
export async function startTestControlPlane(
  overrides: TestControlPlaneOptions = {},
): Promise<TestControlPlane> {
  const { log, listen = true, ...options } = overrides;
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'brl-test-cp-'));
  const token = options.apiToken ?? TEST_API_TOKEN;
  const logs: string[] = [];
  const records: Array<Record<string, unknown>> = [];
  const keep = (line: string) => {
    logs.push(line);
    records.push(JSON.parse(line) as Record<string, unknown>);
  };
  const logger = options.logger ?? (log ? pino({ level: log }, { write: keep }) : pino({ level: 'silent' }));
  let cp: ControlPlane;
  try {
    cp = await createControlPlane({ port: 0, ...options, dataDir, apiToken: token, logger });
  } catch (err) {
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const started: TestControlPlane = {
    cp,
    dataDir,
    url: '',
    token,
    logs,
    records,
    api: (method, path, body, as = {}) =>
      fetchJson(cp.url, as.token ?? token, method, path, body, as.contentType),
    async stop() {
      if (stopped) return;
      stopped = true;
      await cp.close();
    },
    async close() {
      if (!open.delete(started)) return;
      try {
        await started.stop();
      } finally {
        if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
  open.add(started);
  if (listen) {
    try {
      started.url = await cp.listen();
    } catch (err) {
      await started.close();
      throw err;
    }
  }
  return started;
}

/**
 * Closes every control plane this test file started and has not closed yet, newest first
 * (`afterEach(closeTestControlPlanes)` in files that start several per test).
 */
export async function closeTestControlPlanes(): Promise<void> {
  for (const started of [...open].reverse()) await started.close();
}

/**
 * Replicas in this process, one per name: one SQLite database in a temporary folder and one
 * in-process bus shared by all, the same secret key, each its own data folder; `overrides` go to
 * each. The shared folder goes with the last replica's `close`.
 */
export async function startTestReplicas(
  names: string[],
  overrides: TestControlPlaneOptions = {},
): Promise<TestControlPlane[]> {
  const shared = mkdtempSync(join(tmpdir(), 'brl-test-replicas-'));
  const network = createInProcessNetwork();
  const started: TestControlPlane[] = [];
  let left = names.length;
  for (const name of names) {
    const replica = await startTestControlPlane({
      databaseUrl: join(shared, 'borealis.db'),
      secretKey: Buffer.alloc(32, 9).toString('base64'),
      replicaId: name,
      clusterBus: network.join(),
      ...overrides,
    });
    const close = replica.close;
    let closed = false;
    replica.close = async () => {
      if (closed) return;
      closed = true;
      await close();
      if (--left === 0) rmSync(shared, { recursive: true, force: true });
    };
    started.push(replica);
  }
  return started;
}
