import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeTestControlPlanes } from '../../../../test/kit/control-plane.js';
import type { ControlPlane } from '../server.js';
import * as wh from './receivers.test-util.js';

/**
 * Issue 13: `uriTemplate: '{{secrets.slackwebhookURL}}'` (Armory's docs write it so). The URL is
 * the secret's value, known only when the call is prepared; its scheme and host are checked then,
 * in a real control plane (real store, real HTTP on port 0), and a bad value fails the run with
 * a message that names the variable and never the value.
 */
let cp: ControlPlane;
const receivers: wh.Receiver[] = [];

beforeAll(async () => {
  cp = (await wh.startWebhookTestControlPlane()).cp;
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});
afterAll(closeTestControlPlanes);

const slackLike = (uriTemplate: string) => ({
  name: 'slack',
  method: 'POST' as const,
  uriTemplate,
  networkMode: 'direct' as const,
  headers: [{ key: 'Content-Type', value: 'application/json' }],
  bodyTemplate: { inline: '{"text": "deployed {{armory.applicationName}}"}' },
  retryCount: 0,
  disableCallback: true,
});

describe('a uriTemplate that is wholly a variable', () => {
  it('calls the URL the secret holds', async () => {
    const r = await wh.startReceiver({});
    receivers.push(r);
    await cp.secrets.put('slackwebhookURL', `${r.url}/services/T000/B000/xyz`);
    const run = await cp.webhooks.start(wh.invocationFor(slackLike('{{secrets.slackwebhookURL}}')));
    const done = await wh.waitForRun(cp.webhooks, run.id);
    expect(done.status, done.reason).toBe('succeeded');
    expect(r.requests[0]?.url).toBe('/services/T000/B000/xyz');
    expect(JSON.parse(r.requests[0]?.body ?? '{}')).toEqual({ text: 'deployed my-app' });
  });

  it('a value without scheme and host fails the run, naming the variable, not the value', async () => {
    const value = 'hooks.slack.example/services/secret-part';
    await cp.secrets.put('badwebhookURL', value);
    const run = await cp.webhooks.start(wh.invocationFor(slackLike('{{secrets.badwebhookURL}}')));
    const done = await wh.waitForRun(cp.webhooks, run.id);
    expect(done.status).toBe('failed');
    expect(done.reason).toContain('{{secrets.badwebhookURL}}');
    expect(done.reason).toContain('scheme and host');
    expect(done.reason).not.toContain('secret-part');
  });

  it('a context value supplies the base URL the same way', async () => {
    const r = await wh.startReceiver({});
    receivers.push(r);
    const run = await cp.webhooks.start(
      wh.invocationFor(slackLike('{{context.uri}}/notify'), {
        context: { environment: 'staging', uri: `${r.url}/base` },
      }),
    );
    const done = await wh.waitForRun(cp.webhooks, run.id);
    expect(done.status, done.reason).toBe('succeeded');
    expect(r.requests[0]?.url).toBe('/base/notify');
  });

  it('preflightUri (deployment start) checks the leading value now, and leaves absent ones to the call', async () => {
    await cp.secrets.put('good_url', 'https://hooks.example.com/T0');
    await cp.secrets.put('bad_url', 'mailto:ops@example.com');
    const preflight = cp.webhooks.preflightUri!;
    await expect(preflight(slackLike('{{secrets.good_url}}'), {})).resolves.toBeUndefined();
    await expect(preflight(slackLike('{{secrets.bad_url}}'), {})).rejects.toMatchObject({
      code: 'BRL_ERR_TEMPLATE_INVALID_URI',
    });
    await expect(preflight(slackLike('{{secrets.not_created_yet}}'), {})).resolves.toBeUndefined();
    await expect(preflight(slackLike('{{context.uri}}/x'), { uri: 'example.com' })).rejects.toMatchObject({
      code: 'BRL_ERR_TEMPLATE_INVALID_URI',
    });
    await expect(
      preflight(slackLike('https://{{context.host}}/x'), { host: 'nothing to check' }),
    ).resolves.toBeUndefined();
  });
});
