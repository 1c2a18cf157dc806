import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ControlPlane,
  type CreateControlPlaneOptions,
  createControlPlane,
} from '@borealis/control-plane';
import pino from 'pino';

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
  /** `logs`, parsed. */
  logRecords(): Array<Record<string, unknown>>;
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
  /** Closes the control plane, then removes the data folder it made (never one it was given). */
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
  const logger =
    options.logger ??
    (log
      ? pino({ level: log }, { write: (line: string) => void logs.push(line) })
      : pino({ level: 'silent' }));
  let cp: ControlPlane;
  try {
    cp = await createControlPlane({ port: 0, ...options, dataDir, apiToken: token, logger });
  } catch (err) {
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const started: TestControlPlane = {
    cp,
    dataDir,
    url: '',
    token,
    logs,
    logRecords: () => logs.map((line) => JSON.parse(line) as Record<string, unknown>),
    async api(method, path, body, as = {}) {
      const res = await fetch(cp.url + path, {
        method,
        headers: {
          authorization: `Bearer ${as.token ?? token}`,
          ...(body === undefined ? {} : { 'content-type': as.contentType ?? 'application/json' }),
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async close() {
      if (!open.delete(started)) return;
      try {
        await cp.close();
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
