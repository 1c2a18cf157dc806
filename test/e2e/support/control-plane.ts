import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentEnv, bins, type Proc, startProcess } from './processes.js';

export const TEST_TOKEN = 'e2e-api-token-0123456789abcdef';

export { freePort } from '../../kit/free-port.mjs';

export interface ServerProc {
  proc: Proc;
  url: string;
  dataDir: string;
  env: Record<string, string>;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>;
  cleanup(): void;
}

/** Starts the real `borealis-server` program as a child process and waits until it listens. */
export async function startServer(env: Record<string, string> = {}, dataDir?: string): Promise<ServerProc> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'brl-cp-'));
  const fullEnv = {
    BOREALIS_PORT: '0',
    BOREALIS_DATA_DIR: dir,
    BOREALIS_API_TOKEN: TEST_TOKEN,
    BOREALIS_HEARTBEAT_INTERVAL: '500ms',
    ...env,
  };
  const proc = startProcess(bins.server, { env: fullEnv });
  const listening = await proc.waitForLog('listening');
  const url = listening.url as string;
  return {
    proc,
    url,
    dataDir: dir,
    env: fullEnv,
    async api(method, path, body) {
      const res = await fetch(url + path, {
        method,
        headers: {
          authorization: `Bearer ${TEST_TOKEN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * An agent for `identifier`, connected to `server`: a credential named `name` (allowed only that
 * identifier) is created over the API, then the agent is started with it and waited for.
 */
export async function startConnectedAgent(
  server: ServerProc,
  identifier: string,
  name: string,
): Promise<Proc> {
  const { json: cred } = await server.api('POST', '/api/v1/agent-credentials', {
    name,
    allowedIdentifiers: [identifier],
  });
  const agent = startProcess(bins.agent, { env: agentEnv({ url: server.url, identifier, cred }) });
  await agent.waitForLog('connected');
  return agent;
}
