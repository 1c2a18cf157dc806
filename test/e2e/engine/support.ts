import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ControlPlane,
  type CreateControlPlaneOptions,
  createControlPlane,
} from '@borealis/control-plane';
import pino from 'pino';

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
  const dataDir = mkdtempSync(join(tmpdir(), 'brl-engine-'));
  const cp = await createControlPlane({
    port: 0,
    dataDir,
    apiToken: TOKEN,
    directAllow: ['127.0.0.1/32'],
    logger: pino({ level: process.env.BOREALIS_TEST_LOG ?? 'silent' }),
    ...extra,
  });
  await cp.listen();
  const api: TestPlane['api'] = async (method, path, body, contentType) => {
    const res = await fetch(cp.url + path, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body !== undefined ? { 'content-type': contentType ?? 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as never };
  };
  return {
    cp,
    dataDir,
    api,
    async waitForStatus(id, statuses, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      let last: DeploymentJson | undefined;
      while (Date.now() < end) {
        const { json } = await api<DeploymentJson>('GET', `/api/v1/deployments/${id}`);
        last = json;
        if (statuses.includes(json.status)) return json;
        await new Promise((r) => setTimeout(r, 30));
      }
      throw new Error(
        `deployment ${id} did not reach ${statuses.join('|')}; last: ${JSON.stringify(last, null, 2)}`,
      );
    },
    async close() {
      await cp.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The webhooks section every scenario file uses; `mode` picks what the receiver does. */
export function webhook(name: string, hookUrl: string, mode: 'ok' | 'fail' | 'hold'): string {
  return `  - name: ${name}
    method: POST
    uriTemplate: ${hookUrl}/${mode}/${name}
    networkMode: direct
    headers:
      - key: Content-Type
        value: application/json
    bodyTemplate:
      inline: >-
        {"callbackUri": "{{armory.callbackUri}}/callback", "environment": "{{armory.environmentName}}"}
`;
}

export function env(deployment: DeploymentJson, name: string) {
  const e = deployment.environments.find((x) => x.name === name);
  if (!e) throw new Error(`no environment ${name}`);
  return e;
}
