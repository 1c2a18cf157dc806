import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookSpec } from '@borealis/deploy-spec';
import pino from 'pino';
import {
  startTestControlPlane,
  type TestControlPlane,
  type TestControlPlaneOptions,
} from '../../../../test/kit/control-plane.js';
import type { ControlPlane } from '../server.js';
import type { WebhookInvocation, WebhookRun, WebhookService } from './types.js';
import {
  createWebhookService,
  type WebhookServiceDeps,
  type WebhookServiceOptions,
} from './webhook-service.js';

/**
 * Real HTTP receivers for webhook tests (real sockets on port 0), shaped like the product page's
 * examples: answer at once, call back a moment later.
 */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Status codes our control plane answered the receiver's callbacks with. */
  callbackAnswers: Array<{ status: number; body: string }>;
  close(): Promise<void>;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string };

export interface ReceiverOptions {
  /** Answer to each request (by 0-based index); default 204. */
  answer?: (index: number, req: ReceivedRequest) => Answer;
  /** What to call back with, if anything; `from` says where the callback URI is read from. */
  callback?: {
    success: boolean;
    mdMessage?: string;
    delayMs?: number;
    from?: 'body' | 'header';
    raw?: string;
    /** Call back first and answer the call only then (a receiver faster than its own answer). */
    beforeAnswering?: boolean;
  };
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const callbackAnswers: Receiver['callbackAnswers'] = [];
  const pending = new Set<Promise<void>>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      const index = requests.push(received) - 1;
      const answer = options.answer?.(index, received) ?? { status: 204 };
      const respond = () => {
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? '');
      };
      const cb = options.callback;
      if (!cb?.beforeAnswering) respond();
      if (cb && answer.status >= 200 && answer.status < 300) {
        const target =
          cb.from === 'header' ? String(req.headers.location ?? '') : callbackUriFromBody(received.body);
        const p = (async () => {
          await new Promise((r) => setTimeout(r, cb.delayMs ?? 50));
          const res2 = await fetch(target, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body:
              cb.raw ??
              JSON.stringify({
                success: cb.success,
                ...(cb.mdMessage === undefined ? {} : { mdMessage: cb.mdMessage }),
              }),
          });
          callbackAnswers.push({ status: res2.status, body: await res2.text() });
        })()
          .catch((err: unknown) => {
            callbackAnswers.push({ status: 0, body: String(err) });
          })
          .finally(() => {
            if (cb.beforeAnswering) respond();
          });
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    requests,
    callbackAnswers,
    async close() {
      await Promise.allSettled([...pending]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function callbackUriFromBody(body: string): string {
  const parsed = JSON.parse(body) as { client_payload?: { callbackUri?: string } };
  return parsed.client_payload?.callbackUri ?? '';
}

/** The product page's GitHub example, pointed at `url`. */
export function githubLikeWebhook(url: string, overrides: Partial<WebhookSpec> = {}): WebhookSpec {
  return {
    name: 'myWebhook',
    method: 'POST',
    uriTemplate: url,
    networkMode: 'direct',
    headers: [
      { key: 'Authorization', value: 'token {{secrets.github_token}}' },
      { key: 'Content-Type', value: 'application/json' },
    ],
    bodyTemplate: {
      inline:
        '{"event_type": "webhookCallback", "client_payload": {"callbackUri": "{{armory.callbackUri}}/callback", "environment": "{{context.environment}}"}}',
    },
    retryCount: 0,
    disableCallback: false,
    ...overrides,
  };
}

let counter = 0;
export function invocationFor(
  webhook: WebhookSpec,
  overrides: Partial<WebhookInvocation> = {},
): WebhookInvocation {
  counter++;
  const deploymentId = `dep-${process.pid}-${counter}`;
  return {
    deploymentId,
    environment: 'staging',
    location: 'constraints.afterDeployment[0]',
    webhook,
    context: { environment: 'staging' },
    armory: {
      deploymentId,
      applicationName: 'my-app',
      environmentName: 'staging',
      accountName: 'staging-cluster',
      namespace: 'my-app-staging',
      replicaSetName: 'my-app-7d9f',
    },
    ...overrides,
  };
}

const SETTLED = new Set(['succeeded', 'failed', 'cancelled']);

/** Polls the store (not the listener) so the test sees what the engine would read. */
export async function waitForRun(
  webhooks: Pick<WebhookService, 'get'>,
  runId: string,
  until: (run: WebhookRun) => boolean = (run) => SETTLED.has(run.status),
  timeoutMs = 15_000,
): Promise<WebhookRun> {
  const end = Date.now() + timeoutMs;
  let last: WebhookRun | undefined;
  for (;;) {
    last = await webhooks.get(runId);
    if (last && until(last)) return last;
    if (Date.now() > end)
      throw new Error(`timed out waiting for webhook run ${runId}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The test kit's control plane as webhook tests want it: on 127.0.0.1, direct calls to
 * 127.0.0.1 allowed (a test passes `directAllow` to see the guard), and the `github_token`
 * secret the GitHub example names set to `githubToken`.
 */
export async function startWebhookTestControlPlane(
  options: TestControlPlaneOptions & { githubToken?: string } = {},
): Promise<TestControlPlane> {
  const { githubToken = 'ghp_x', ...overrides } = options;
  const started = await startTestControlPlane({
    host: '127.0.0.1',
    directAllow: ['127.0.0.1/32'],
    ...overrides,
  });
  await started.cp.secrets.put('github_token', githubToken);
  return started;
}

/**
 * A second, silent webhook service on `cp`'s store, relay and secrets with options of its own
 * (fast backoff, a short agent wait, other SSRF allowances) and, where a test needs it, a store or
 * relay of its own; its callbacks land on `cp`'s route and settle runs through the shared store.
 * Close it at the end of the test.
 */
export function sideWebhookService(
  cp: ControlPlane,
  options: Partial<WebhookServiceOptions> = {},
  deps: Partial<Pick<WebhookServiceDeps, 'store' | 'dispatcher'>> = {},
) {
  return createWebhookService({
    store: cp.store,
    dispatcher: cp.hub,
    secrets: cp.secrets,
    logger: pino({ level: 'silent' }),
    options: { callbackTimeoutMs: 60_000, directAllow: [], publicUrl: () => cp.publicUrl, ...options },
    ...deps,
  });
}
