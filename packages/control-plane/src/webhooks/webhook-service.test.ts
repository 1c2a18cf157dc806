import { createHmac } from 'node:crypto';
import type { WebhookSpec } from '@borealis/deploy-spec';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeTestControlPlanes } from '../../../../test/kit/control-plane.js';
import { freePort } from '../../../../test/kit/free-port.mjs';
import { until } from '../../../../test/kit/until.js';
import type { Dispatcher } from '../relay/index.js';
import type { ControlPlane } from '../server.js';
import * as wh from './receivers.test-util.js';
import type { WebhookRun } from './types.js';

/**
 * The webhook service inside a real control plane (real store, real HTTP, port 0), driven the way
 * the engine drives it: start(), then watch the run.
 */
const GITHUB_TOKEN = 'ghp_S3cr3tV4lue-that-must-never-be-recorded';
const SIGNING_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const API_TOKEN = 'webhooks-test-token-0123456789';

let cp: ControlPlane;
let logs: string[] = [];
const settled: WebhookRun[] = [];
const receivers: wh.Receiver[] = [];

/** Starts the GitHub-like webhook against `r` (with `overrides`) and waits for the run to settle. */
async function runToEnd(r: wh.Receiver, overrides: Partial<WebhookSpec> = {}): Promise<WebhookRun> {
  const run = await cp.webhooks.start(wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`, overrides)));
  return wh.waitForRun(cp.webhooks, run.id);
}

async function receiver(options: Parameters<typeof wh.startReceiver>[0] = {}): Promise<wh.Receiver> {
  const r = await wh.startReceiver(options);
  receivers.push(r);
  return r;
}

beforeAll(async () => {
  const started = await wh.startWebhookTestControlPlane({
    apiToken: API_TOKEN,
    log: 'debug',
    githubToken: GITHUB_TOKEN,
  });
  cp = started.cp;
  logs = started.logs;
  await cp.secrets.put('signing', SIGNING_SECRET);
  cp.webhooks.onSettled((run) => settled.push(run));
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

afterAll(closeTestControlPlanes);

describe('a webhook like the product page GitHub example (direct)', () => {
  it('settles as succeeded when the receiver answers 204 and then calls back success: true', async () => {
    const r = await receiver({ callback: { success: true, delayMs: 100 } });
    const run = await cp.webhooks.start(
      wh.invocationFor(wh.githubLikeWebhook(`${r.url}/repos/demo/dispatches`)),
    );
    expect(run.status).toBe('pending');

    const done = await wh.waitForRun(cp.webhooks, run.id);
    expect(done.status).toBe('succeeded');
    expect(done.callback).toMatchObject({ success: true });
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts[0]).toMatchObject({ attempt: 1, status: 204 });
    // The run settles before the receiver has read our answer to its callback.
    await until(() => r.callbackAnswers.length > 0);
    expect(r.callbackAnswers).toEqual([{ status: 200, body: JSON.stringify({ status: 'succeeded' }) }]);
    expect(settled.map((s) => s.id)).toContain(run.id);

    // What the receiver got: the callback URI under the public URL, the same webhook-id as the run.
    const sent = r.requests[0]!;
    const body = JSON.parse(sent.body) as { client_payload: { callbackUri: string; environment: string } };
    expect(body.client_payload.callbackUri).toMatch(
      new RegExp(`^${cp.publicUrl}/callbacks/[A-Za-z0-9_-]{43}/callback$`),
    );
    expect(body.client_payload.environment).toBe('staging');
    expect(sent.headers['webhook-id']).toBe(done.callId);
    expect(sent.headers.authorization).toBe(`token ${GITHUB_TOKEN}`);
  });

  it('settles as failed, keeping the mdMessage, when the callback says success: false', async () => {
    const mdMessage = '## Tests failed\n\n<script>alert(1)</script> 3 of 120 failed';
    const r = await receiver({ callback: { success: false, mdMessage } });
    const run = await cp.webhooks.start(wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`)));
    const done = await wh.waitForRun(cp.webhooks, run.id);
    expect(done.status).toBe('failed');
    expect(done.callback).toMatchObject({ success: false, mdMessage });
    expect(done.reasonCode).toBe('BRL_ERR_WEBHOOK_CALLBACK_FAILED');

    // People read it through the API as text, unchanged (whoever displays it escapes it).
    const res = await cp.app.inject({
      method: 'GET',
      url: `/api/v1/webhook-runs/${run.id}`,
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().callback.mdMessage).toBe(mdMessage);
  });

  it('sends the secret in the call but keeps it, and the callback token, out of the record and the logs', async () => {
    const r = await receiver({ callback: { success: true } });
    const run = await cp.webhooks.start(wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`)));
    const done = await wh.waitForRun(cp.webhooks, run.id);
    expect(done.status).toBe('succeeded');
    expect(r.requests[0]?.headers.authorization).toBe(`token ${GITHUB_TOKEN}`);
    const token = /\/callbacks\/([^/]+)\/callback/.exec(r.requests[0]!.body)?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    expect(done.request?.headers).toContainEqual(['Authorization', 'token ****']);
    expect(done.request?.body).toContain('/callbacks/****/callback');
    const api = await cp.app.inject({
      method: 'GET',
      url: `/api/v1/webhook-runs/${run.id}`,
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    for (const text of [JSON.stringify(done), api.body, logs.join('\n')]) {
      expect(text).not.toContain(GITHUB_TOKEN);
      expect(text).not.toContain(token);
    }
    // The logs did see the run (so the check above looked at something).
    expect(logs.join('\n')).toContain(run.id);
  });

  it('signs calls (Standard Webhooks) when the webhook names a signing secret, verifiable by the receiver', async () => {
    const r = await receiver({ callback: { success: true } });
    const run = await cp.webhooks.start(
      wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`, { signingSecret: 'signing' })),
    );
    await wh.waitForRun(cp.webhooks, run.id);
    const sent = r.requests[0]!;
    const id = String(sent.headers['webhook-id']);
    const timestamp = Number(sent.headers['webhook-timestamp']);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(30);
    const key = Buffer.from(SIGNING_SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${sent.body}`).digest('base64');
    expect(sent.headers['webhook-signature']).toBe(`v1,${expected}`);
  });

  it('takes a callback that arrives before the answer to the call, and still records that answer', async () => {
    const r = await receiver({ callback: { success: true, delayMs: 0, beforeAnswering: true } });
    const run = await cp.webhooks.start(wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`)));
    const done = await wh.waitForRun(
      cp.webhooks,
      run.id,
      (x) => x.status === 'succeeded' && x.attempts.length === 1,
    );
    expect(done.attempts[0]).toMatchObject({ attempt: 1, status: 204 });
    expect(done.callback).toMatchObject({ success: true });
    expect(r.callbackAnswers[0]?.status).toBe(200);
  });

  it('settles at once on the 2xx answer with disableCallback: true', async () => {
    const r = await receiver({ answer: () => ({ status: 200, body: 'ok' }) });
    const done = await runToEnd(r, { disableCallback: true });
    expect(done.status).toBe('succeeded');
    expect(done.callback).toBeUndefined();
  });

  it('is idempotent: starting the same invocation again returns the run and calls nothing', async () => {
    const r = await receiver({ callback: { success: true } });
    const invocation = wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`));
    const first = await cp.webhooks.start(invocation);
    const again = await cp.webhooks.start(invocation);
    expect(again.id).toBe(first.id);
    await wh.waitForRun(cp.webhooks, first.id);
    expect(r.requests).toHaveLength(1);
    expect(
      await cp.webhooks.find(invocation.deploymentId, invocation.environment, invocation.location),
    ).toMatchObject({
      id: first.id,
    });
    expect((await cp.webhooks.listForDeployment(invocation.deploymentId)).map((x) => x.id)).toEqual([
      first.id,
    ]);
  });
});

describe('retries', () => {
  it('retries a call that could not be made: receiver down for two attempts, retryCount 3, the third succeeds', async () => {
    // A second service on the same store, with backoff in milliseconds and no jitter, so the test
    // knows when the third attempt comes (300 ms after the first, then 600 ms after the second).
    // Its callback lands on the control plane's route and settles the run through the shared store.
    const fast = wh.sideWebhookService(cp, {
      directAllow: ['127.0.0.1/32'],
      backoff: { baseMs: 300, capMs: 5_000, random: () => 0.999 },
    });
    try {
      const port = await freePort();
      const webhook = wh.githubLikeWebhook(`http://127.0.0.1:${port}/hook`, { retryCount: 3 });
      const run = await fast.start(wh.invocationFor(webhook));
      const twoFailed = await wh.waitForRun(fast, run.id, (x) => x.attempts.length >= 2);
      expect(twoFailed.status).toBe('pending');
      expect(twoFailed.nextAttemptAt).toBeGreaterThan(Date.now());
      expect(twoFailed.attempts.map((a) => a.errorCode)).toEqual([
        'BRL_ERR_WEBHOOK_UNREACHABLE',
        'BRL_ERR_WEBHOOK_UNREACHABLE',
      ]);
      expect(twoFailed.attempts[0]?.message).toContain('connection refused');
      const r = await receiver({ port, callback: { success: true } });
      const done = await wh.waitForRun(fast, run.id);
      expect(done.status).toBe('succeeded');
      expect(done.attempts.map((a) => a.status ?? a.errorCode)).toEqual([
        'BRL_ERR_WEBHOOK_UNREACHABLE',
        'BRL_ERR_WEBHOOK_UNREACHABLE',
        204,
      ]);
      expect(r.requests).toHaveLength(1);
    } finally {
      await fast.close();
    }
  });

  it('fails at once with a "could not reach" reason when retryCount is 0', async () => {
    const port = await freePort();
    const run = await cp.webhooks.start(
      wh.invocationFor(wh.githubLikeWebhook(`http://127.0.0.1:${port}/hook`)),
    );
    const done = await wh.waitForRun(cp.webhooks, run.id, undefined, 5_000);
    expect(done.status).toBe('failed');
    expect(done.attempts).toHaveLength(1);
    expect(done.reason).toContain('could not reach');
    expect(done.reason).toContain(`127.0.0.1:${port}`);
    expect(done.reasonCode).toBe('BRL_ERR_WEBHOOK_UNREACHABLE');
  });

  it('retries 503 and 429 (honouring Retry-After) with the same webhook-id, then succeeds', async () => {
    const r = await receiver({
      answer: (i) =>
        i === 0
          ? { status: 503, headers: { 'retry-after': '0' }, body: 'busy' }
          : i === 1
            ? { status: 429, headers: { 'retry-after': '1' } }
            : { status: 204 },
      callback: { success: true },
    });
    const started = Date.now();
    const done = await runToEnd(r, { retryCount: 2 });
    expect(done.status).toBe('succeeded');
    expect(done.attempts.map((a) => a.status)).toEqual([503, 429, 204]);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([done.callId]));
    // Retry-After: 1 was waited for.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('does not retry any other non-2xx: fails with the status and the start of the body', async () => {
    const long = `bad request: ${'x'.repeat(1000)}`;
    const r = await receiver({ answer: () => ({ status: 400, body: long }) });
    const done = await runToEnd(r, { retryCount: 5 });
    expect(done.status).toBe('failed');
    expect(r.requests).toHaveLength(1);
    expect(done.reasonCode).toBe('BRL_ERR_WEBHOOK_HTTP_STATUS');
    expect(done.reason).toContain('answered 400: bad request: xxx');
    expect(done.reason!.length).toBeLessThan(400);
  });

  it('records each answer (headers, first KiB of the body, secrets masked) and why a retry was made, for the run detail', async () => {
    const body = `upstream down; echo ${GITHUB_TOKEN} ${'y'.repeat(3000)}`;
    const r = await receiver({
      answer: (i) =>
        i === 0
          ? {
              status: 503,
              headers: {
                'retry-after': '0',
                'x-trace': 'trace-1',
                'set-cookie': 'session=abc123',
                'x-echo': GITHUB_TOKEN,
              },
              body,
            }
          : { status: 204 },
      callback: { success: true },
    });
    const done = await runToEnd(r, { retryCount: 1 });
    expect(done.status).toBe('succeeded');
    const [first, second] = done.attempts;
    expect(first?.status).toBe(503);
    expect(first?.response?.headers).toContainEqual(['x-trace', 'trace-1']);
    expect(first?.response?.headers).toContainEqual(['set-cookie', '(hidden)']);
    expect(first?.response?.headers).toContainEqual(['x-echo', '****']);
    expect(first?.response?.bodyStart.startsWith('upstream down; echo ****')).toBe(true);
    expect(Buffer.byteLength(first!.response!.bodyStart)).toBeLessThanOrEqual(1024);
    expect(first?.retry?.reason).toMatch(/answered 503: upstream down.*\(Retry-After: 0\)$/);
    expect(first?.retry?.at).toBeGreaterThanOrEqual(first!.startedAt);
    expect(second?.status).toBe(204);
    expect(second?.retry).toBeUndefined();
    // The callback: when and from where (this test's receiver, on 127.0.0.1).
    expect(done.callback?.from).toBe('127.0.0.1');
    expect(JSON.stringify(done)).not.toContain(GITHUB_TOKEN);
    expect(JSON.stringify(done)).not.toContain('abc123');
  });

  it('gives up on a 5xx after retryCount retries, saying how often it tried', async () => {
    const r = await receiver({
      answer: () => ({ status: 502, headers: { 'retry-after': '0' }, body: 'gateway down' }),
    });
    const done = await runToEnd(r, { retryCount: 1 });
    expect(done.status).toBe('failed');
    expect(r.requests).toHaveLength(2);
    expect(done.reason).toContain('answered 502: gateway down');
    expect(done.reason).toContain('gave up after 2 attempts');
  });
});

describe('remoteNetworkAgent without an agent', () => {
  it('fails with a clear reason when neither the webhook nor the target names an agent', async () => {
    const webhook = wh.githubLikeWebhook('http://10.9.9.9/hook', { networkMode: 'remoteNetworkAgent' });
    const invocation = wh.invocationFor(webhook);
    delete invocation.account;
    const run = await cp.webhooks.start(invocation);
    const done = await wh.waitForRun(cp.webhooks, run.id);
    expect(done.status).toBe('failed');
    expect(done.reasonCode).toBe('BRL_ERR_WEBHOOK_NO_AGENT');
    expect(done.reason).toContain('agentIdentifier');
  });

  it('uses the target account as the agent identifier, waits for it, then says no such agent connected', async () => {
    // No agent is not a failed call: the run waits (BOREALIS_AGENT_WAIT, here 400 ms) and shows
    // what it waits for, then fails naming the agent and the fix. (Before, it failed at once.)
    const waiting = wh.sideWebhookService(cp, { agentWaitMs: 400 });
    try {
      const webhook = wh.githubLikeWebhook('http://10.9.9.9/hook', { networkMode: 'remoteNetworkAgent' });
      const run = await waiting.start(wh.invocationFor(webhook, { account: 'prod-cluster-rna' }));
      const seen = await wh.waitForRun(waiting, run.id, (x) => x.waitingForAgent !== undefined);
      expect(seen.status).toBe('pending');
      expect(seen.waitingForAgent).toMatchObject({ agentIdentifier: 'prod-cluster-rna' });
      expect(seen.waitingForAgent!.until - seen.waitingForAgent!.since).toBe(400);
      const done = await wh.waitForRun(waiting, run.id);
      expect(done.status).toBe('failed');
      expect(done.reasonCode).toBe('BRL_ERR_AGENT_NOT_CONNECTED');
      expect(done.reason).toContain('no agent "prod-cluster-rna" connected within');
      expect(done.reason).toContain('BOREALIS_AGENT_IDENTIFIER=prod-cluster-rna');
      expect(done.reason).toContain('BOREALIS_AGENT_WAIT');
      expect(done.attempts).toHaveLength(0);
      expect(done.waitingForAgent).toBeUndefined();
    } finally {
      await waiting.close();
    }
  });

  it('keeps its bound when presence lists an agent that no call finds', async () => {
    // Found by the chaos run: a replica's agent list a moment (or, before the presence fix, minutes)
    // behind made every call find no agent while the list said there was one, and the run spun
    // until its deadline. The hub's own dispatch, with the stale list's answer to hasAgent.
    const stale: Dispatcher = {
      dispatch: (id, request) => cp.hub.dispatch(id, request),
      hasAgent: () => true,
      waitForAgent: async () => true,
    };
    const waiting = wh.sideWebhookService(cp, { agentWaitMs: 500 }, { dispatcher: stale });
    try {
      const webhook = wh.githubLikeWebhook('http://10.9.9.9/hook', { networkMode: 'remoteNetworkAgent' });
      const run = await waiting.start(wh.invocationFor(webhook, { account: 'phantom-rna' }));
      const done = await wh.waitForRun(waiting, run.id, undefined, 10_000);
      expect(done.status).toBe('failed');
      expect(done.reasonCode).toBe('BRL_ERR_AGENT_NOT_CONNECTED');
      expect(done.reason).toContain('BOREALIS_AGENT_WAIT=500ms');
      expect(done.attempts).toHaveLength(0);
    } finally {
      await waiting.close();
    }
  });

  it('never waits past the run deadline: the deadline settles it', async () => {
    const waiting = wh.sideWebhookService(cp, { callbackTimeoutMs: 300 });
    try {
      const webhook = wh.githubLikeWebhook('http://10.9.9.9/hook', { networkMode: 'remoteNetworkAgent' });
      const run = await waiting.start(wh.invocationFor(webhook, { account: 'late-cluster-rna' }));
      const seen = await wh.waitForRun(waiting, run.id, (x) => x.waitingForAgent !== undefined);
      expect(seen.waitingForAgent!.until).toBe(seen.deadlineAt);
      const done = await wh.waitForRun(waiting, run.id);
      expect(done.status).toBe('failed');
      expect(done.attempts).toHaveLength(0);
    } finally {
      await waiting.close();
    }
  });
});

describe('a settled run when the store fails to read it back', () => {
  it('still reaches the engine once reads work again, and the callback is answered 200', async () => {
    // Found by the chaos run: a callback was taken just as the database link was cut; reading
    // the settled run back failed, the engine was never told, and the deployment waited for good.
    // The real repository, with one read made to fail the way a cut link fails it.
    const repo = cp.store.webhookRuns;
    let reads = 0;
    let failRead = -1;
    const flaky = {
      ...repo,
      get: async (id: string) => {
        if (reads++ === failRead) throw new Error('Connection terminated unexpectedly');
        return repo.get(id);
      },
    };
    const svc = wh.sideWebhookService(
      cp,
      { directAllow: ['127.0.0.1/32'] },
      { store: { webhookRuns: flaky } },
    );
    try {
      const heard: WebhookRun[] = [];
      svc.onSettled((r) => heard.push(r));
      const r = await receiver();
      const run = await svc.start(wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`)));
      await wh.waitForRun(svc, run.id, (x) => x.status === 'awaiting_callback');
      const token = /callbacks\/([^/"]+)/.exec(r.requests[0]!.body)?.[1];
      // acceptCallback reads the run (read 0), settles it, then reads it back to tell (read 1).
      reads = 0;
      failRead = 1;
      await expect(svc.acceptCallback(token!, { success: true })).resolves.toEqual({ status: 'succeeded' });
      await until(() => heard.some((x) => x.id === run.id && x.status === 'succeeded'));
    } finally {
      await svc.close();
    }
  });
});

describe('cancel', () => {
  it('cancels a run awaiting its callback, tells the engine, and answers a later callback 409', async () => {
    const r = await receiver();
    const run = await cp.webhooks.start(wh.invocationFor(wh.githubLikeWebhook(`${r.url}/hook`)));
    await wh.waitForRun(cp.webhooks, run.id, (x) => x.status === 'awaiting_callback');
    await cp.webhooks.cancel(run.id, 'the deployment was cancelled');
    const done = await cp.webhooks.get(run.id);
    expect(done).toMatchObject({ status: 'cancelled', reason: 'the deployment was cancelled' });
    expect(settled.find((s) => s.id === run.id)?.status).toBe('cancelled');
    const uri = /"callbackUri": "([^"]+)"/.exec(r.requests[0]!.body)?.[1];
    const res = await fetch(uri!, { method: 'POST', body: JSON.stringify({ success: true }) });
    expect(res.status).toBe(409);
    // Cancelling a settled run changes nothing.
    await cp.webhooks.cancel(run.id, 'again');
    expect((await cp.webhooks.get(run.id))?.reason).toBe('the deployment was cancelled');
  });
});
