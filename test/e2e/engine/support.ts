import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControlPlane, CreateControlPlaneOptions } from '@borealis/control-plane';
import { startTestControlPlane } from '../../kit/control-plane.js';
import { webhookYaml } from '../../kit/deploy-file.js';
import { waitForDeployment } from '../../kit/deployments.js';

export const TOKEN = 'engine-e2e-token-0123456789';

/**
 * A real webhook receiver: `/ok/<name>` calls back success, `/fail/<name>` calls back failure,
 * `/hold/<name>` keeps the callback URI for the test to call later. The body carries the
 * callback URI as the product page says (`{{armory.callbackUri}}/callback`).
 */
export interface HookServer {
  url: string;
  calls: Array<{ path: string; body: string; headers: Record<string, string | string[] | undefined> }>;
  held: Map<string, string[]>;
  callBack(name: string, success: boolean, mdMessage?: string): Promise<number>;
  close(): Promise<void>;
}

export async function startHookServer(delayMs = 30): Promise<HookServer> {
  const calls: HookServer['calls'] = [];
  const held = new Map<string, string[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const path = req.url ?? '';
      calls.push({ path, body, headers: req.headers });
      res.writeHead(202).end();
      let callbackUri = '';
      try {
        callbackUri = (JSON.parse(body) as { callbackUri: string }).callbackUri;
      } catch {
        return;
      }
      const [, mode, name = ''] = path.split('/');
      if (mode === 'hold') {
        held.set(name, [...(held.get(name) ?? []), callbackUri]);
        return;
      }
      setTimeout(() => {
        void post(callbackUri, {
          success: mode === 'ok',
          mdMessage: `${name}: ${mode === 'ok' ? 'all good' : 'it broke'}`,
        }).catch(() => undefined);
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    held,
    async callBack(name, success, mdMessage) {
      const uri = held.get(name)?.shift();
      if (!uri) throw new Error(`no held callback for ${name}`);
      return post(uri, { success, ...(mdMessage ? { mdMessage } : {}) });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function post(uri: string, body: unknown): Promise<number> {
  const res = await fetch(uri, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

export interface TestPlane {
  cp: ControlPlane;
  dataDir: string;
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<{ status: number; json: T }>;
  waitForStatus(id: string, statuses: string[], timeoutMs?: number): Promise<DeploymentJson>;
  close(): Promise<void>;
}

export interface DeploymentJson {
  id: string;
  status: string;
  message: string | null;
  driver: string;
  environments: Array<{
    name: string;
    status: string;
    phase: string;
    message: string | null;
    startedAt: string | null;
    finishedAt: string | null;
    steps: Array<{
      location: string;
      step: string;
      status: string;
      message?: string;
      awaiting?: { commands: string[] };
    }>;
    webhookRuns: Array<{
      location: string;
      status: string;
      callId: string;
      attempts: number;
      mdMessage?: string;
      reason?: string;
    }>;
    target: {
      driver: string;
      versions: Array<{ version: string; weight: number; role: string; deploymentId: string }>;
    } | null;
  }>;
}

export async function startPlane(extra: Partial<CreateControlPlaneOptions> = {}): Promise<TestPlane> {
  const { cp, dataDir, api, close } = await startTestControlPlane({
    apiToken: TOKEN,
    directAllow: ['127.0.0.1/32'],
    ...extra,
  });
  return {
    cp,
    dataDir,
    api: (method, path, body, contentType) =>
      api(method, path, body, contentType === undefined ? {} : { contentType }),
    waitForStatus: (id, statuses, timeoutMs = 15_000) => waitForDeployment(api, id, statuses, { timeoutMs }),
    close,
  };
}

/** The webhooks section every scenario file uses; `mode` picks what the receiver does. */
export function webhook(name: string, hookUrl: string, mode: 'ok' | 'fail' | 'hold'): string {
  return webhookYaml({
    name,
    uri: `${hookUrl}/${mode}/${name}`,
    networkMode: 'direct',
    body: '{"callbackUri": "{{armory.callbackUri}}/callback", "environment": "{{armory.environmentName}}"}',
  });
}

export function env(deployment: DeploymentJson, name: string) {
  const e = deployment.environments.find((x) => x.name === name);
  if (!e) throw new Error(`no environment ${name}`);
  return e;
}
