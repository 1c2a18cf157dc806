import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControlPlane } from '@borealis/control-plane';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../kit/control-plane.js';
import { canaryAnalysisHead, deployFileHead, webhookYaml } from '../kit/deploy-file.js';
import { waitForDeployment } from '../kit/deployments.js';
import { type HookServer, startHookServer } from './engine/support.js';
import { hasBrowser, needBrowser, openBrowserPage } from './support/browser.js';
import { agentEnv, bins, type Proc, startProcess, stopAll, until } from './support/processes.js';

/**
 * The web UI in a real browser (Debian's chromium, driven by playwright-core): the token prompt,
 * the Agents screen listing a real agent process, a deployment whose webhook goes through that
 * agent and then waits for an approval given with the Approve button, an mdMessage that tries to
 * inject HTML shown as text, and the security headers the page is served with.
 */
const TOKEN = 'ui-e2e-token-0123456789abcdef';
const AGENT_ID = 'ui-rna';
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
const HOSTILE = '<img src=x onerror=alert(1)>';
const MD_MESSAGE = `**Scan** passed: \`0 findings\` ${HOSTILE} [report](https://example.com/r) [bad](javascript:alert(2))`;

let plane: TestControlPlane;
let cp: ControlPlane;
let hooks: HookServer;
let agent: Proc;
let browser: Browser;
let page: Page;
let dialogs: string[] = [];
let pageErrors: string[] = [];

beforeAll(async () => {
  if (!hasBrowser) return;
  plane = await startTestControlPlane({ apiToken: TOKEN, directAllow: ['127.0.0.1/32'] });
  cp = plane.cp;
  hooks = await startHookServer();
  const cred = await cp.store.agentCredentials.create({ name: 'ui-e2e', allowedIdentifiers: [AGENT_ID] });
  agent = startProcess(bins.agent, {
    env: agentEnv({ url: cp.url, identifier: AGENT_ID, cred }),
  });
  await agent.waitForLog('connected');
  await until(() => cp.hub.connectionCount === 1, 'the agent to be listed');
  ({ browser, page, dialogs, pageErrors } = await openBrowserPage());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
  await hooks?.close();
  await plane?.close();
});

function connectionInstance(agentIdentifier: string): string {
  const agent = cp.hub.list().find((a) => a.agentIdentifier === agentIdentifier);
  return agent?.connections[0]?.instanceId ?? `(no connection of ${agentIdentifier})`;
}

const api = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
  plane.api<T>(method, path, body, contentType ? { contentType } : {});

describe('the web UI in a real browser', () => {
  it('is served without a token, with a strict CSP, and nothing outside its folder', async () => {
    needBrowser();
    const root = await fetch(`${cp.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    const html = await fetch(`${cp.url}/ui/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-security-policy')).toBe(CSP);
    expect(html.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html.headers.get('cache-control')).toBe('no-cache');
    const js = await fetch(`${cp.url}/ui/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const css = await fetch(`${cp.url}/ui/app.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    // (fetch resolves `..` and `%2e%2e` itself; an encoded slash reaches the server as one name.)
    for (const path of [
      '/ui/..%2fpackage.json',
      '/ui/..%2F..%2Fpackage.json',
      '/ui/nope.js',
      '/ui/sub/app.js',
    ]) {
      const res = await fetch(cp.url + path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BRL_ERR_NOT_FOUND');
    }
    // The API itself still wants the token.
    expect((await fetch(`${cp.url}/api/v1/agents`)).status).toBe(401);
    expect((await fetch(`${cp.url}/uix`)).status).toBe(401);
  });

  it('asks for the token, says what a wrong one means, and lists the agent by its identifier', async () => {
    needBrowser();
    const res = await page.goto(`${cp.url}/`);
    expect(res?.url()).toBe(`${cp.url}/ui/`);
    expect(res?.headers()['content-security-policy']).toBe(CSP);
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('Missing or invalid bearer token');
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
    const row = page.getByRole('row', { name: new RegExp(AGENT_ID) });
    await row.waitFor();
    const connection = cp.hub.list()[0]!.connections[0]!;
    expect(await row.textContent()).toContain(connection.instanceId);
    expect(await row.textContent()).toContain('connected');
    expect(await page.getByRole('columnheader', { name: 'Agent Identifier' }).count()).toBe(1);
    // The Credential column names the credential; one that allows identifiers by "*" is flagged.
    expect(await page.getByRole('columnheader', { name: 'Credential' }).count()).toBe(1);
    expect(await row.textContent()).toContain('ui-e2e');
    expect(await row.textContent()).not.toContain('wildcard');
    const any = await cp.store.agentCredentials.create({ name: 'ui-any', allowedIdentifiers: ['*'] });
    const wild = startProcess(bins.agent, {
      env: agentEnv({ url: cp.url, identifier: 'ui-wild', cred: any, allow: null }),
    });
    try {
      const wildRow = page.getByRole('row', { name: /ui-wild/ });
      await wildRow.waitFor();
      await expect.poll(() => wildRow.textContent()).toContain('wildcard');
      expect(
        await wildRow
          .getByTitle('The credential allows identifiers by a "*" pattern, not one by one')
          .count(),
      ).toBe(1);
    } finally {
      await wild.stop();
    }
    await until(() => cp.hub.connectionCount === 1, 'the wildcard agent gone');
  });

  it('shows a deployment waiting for approval, only the decisions that apply, the mdMessage as text, and Approve finishes it', async () => {
    needBrowser();
    const deployFile = `application: ui-app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  prod:
    account: prod-cluster
    namespace: ui-app
    constraints:
      beforeDeployment:
        - runWebhook:
            name: security-scan
        - pause:
            untilApproved: true
webhooks:
${webhookYaml({ name: 'security-scan', uri: `${hooks.url}/hold/security-scan`, networkMode: 'remoteNetworkAgent', agentIdentifier: AGENT_ID })}`;
    const started = await api<{ deploymentId: string }>(
      'POST',
      '/api/v1/deployments',
      deployFile,
      'application/yaml',
    );
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    const id = started.json.deploymentId;
    await until(() => hooks.held.get('security-scan')?.length, 'the webhook to reach the receiver', 15_000);
    expect(await hooks.callBack('security-scan', true, MD_MESSAGE)).toBe(200);
    await waitForDeployment(plane.api, id, ['AWAITING_APPROVAL'], {
      what: 'the deployment to wait for approval',
      timeoutMs: 15_000,
    });

    await page.getByRole('link', { name: 'Deployments' }).click();
    await page.getByRole('link', { name: new RegExp(`Deployment ${id}`) }).click();
    const title = page.getByRole('heading', { level: 1 });
    await expect.poll(() => title.textContent()).toContain('AWAITING_APPROVAL');

    // The webhook run: which agent carried it, and its mdMessage as text, a safe subset rendered.
    const run = page
      .getByRole('table', { name: 'Webhook runs of prod' })
      .getByRole('row', { name: /security-scan/ });
    await run.waitFor();
    const runText = (await run.textContent()) ?? '';
    expect(runText).toContain('succeeded');
    expect(runText).toContain(AGENT_ID);
    expect(runText).toContain(HOSTILE);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await run.locator('strong').textContent()).toBe('Scan');
    expect(await run.locator('code').textContent()).toBe('0 findings');
    // (The webhook's name links to its attempts page since issue 16; the message holds one link.)
    expect(await run.locator('.md a').count()).toBe(1);
    expect(await run.getByRole('link', { name: 'report' }).getAttribute('href')).toBe(
      'https://example.com/r',
    );
    expect(runText).toContain('[bad](javascript:alert(2))');

    // The run's page: the route it took (this agent instance), the callback with its message inert.
    await run.getByRole('link', { name: /security-scan: request, attempts and callback/ }).click();
    await page.getByRole('heading', { level: 1, name: /Webhook security-scan succeeded/ }).waitFor();
    const route = (await page.locator('main dl.meta').first().textContent()) ?? '';
    expect(route).toContain(`agent ${AGENT_ID}`);
    expect(route).toContain(connectionInstance(AGENT_ID));
    const callback = page.getByRole('region', { name: 'Callback' });
    expect(await callback.textContent()).toContain(HOSTILE);
    expect(await page.locator('main img').count()).toBe(0);
    await page.goBack();
    await expect.poll(() => title.textContent()).toContain('AWAITING_APPROVAL');

    // Only the decisions that apply (issue 16): an approval waits, so Approve, Reject and Cancel;
    // no roll decision is asked for, so no Roll forward or Roll back. (An API refusal shown to the
    // person is covered in ui-release-manager.test.ts: a token without the approver role.)
    await page.getByRole('button', { name: 'Reject' }).waitFor();
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Roll forward' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Roll back' }).count()).toBe(0);
    await page.screenshot({ path: '/tmp/borealis-ui.png', fullPage: true });

    await page.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => title.textContent(), { timeout: 15_000 }).toContain('SUCCEEDED');
    expect((await api<{ status: string }>('GET', `/api/v1/deployments/${id}`)).json.status).toBe('SUCCEEDED');
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await page.getByRole('row', { name: /pause until approved/ }).textContent()).toContain(
      'approved by',
    );

    // Nothing in the page ran the hostile message, and the CSP had nothing to block.
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('shows each analysis run: value per query against its limits, the window, a failure as text; Roll back ends it', async () => {
    needBrowser();
    // A real metrics endpoint for a `web` provider: one query healthy, one answering an error
    // whose body tries to inject HTML.
    const metrics = createServer((req, res) => {
      if (req.url?.startsWith('/latency')) return void res.writeHead(500).end(HOSTILE);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: 0.02 }));
    });
    await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}`;
      const put = await api('PUT', '/api/v1/metric-providers/ui-web', {
        type: 'web',
        baseUrl: base,
        jsonPath: '$.value',
      });
      expect(put.status).toBe(201);
      const started = await api<{ deploymentId: string }>(
        'POST',
        '/api/v1/deployments',
        `${canaryAnalysisHead({ application: 'ui-canary', configMap: 'ui-canary', weight: 10, interval: 1 })}            numberOfJudgmentRuns: 1
            rollBackMode: manual
            queries: [error-rate, latency]
analysis:
  defaultMetricProviderName: ui-web
  queries:
    - name: error-rate
      queryTemplate: /error-rate?app={{armory.applicationName}}
      lowerLimit: 0
      upperLimit: 0.05
    - name: latency
      queryTemplate: /latency?app={{armory.applicationName}}
      upperLimit: 300
`,
        'application/yaml',
      );
      expect(started.status, JSON.stringify(started.json)).toBe(202);
      const id = started.json.deploymentId;
      await waitForDeployment(plane.api, id, ['AWAITING_APPROVAL'], {
        what: 'the failed analysis to wait for a person',
        timeoutMs: 15_000,
      });
      await page.getByRole('link', { name: 'Deployments', exact: true }).click();
      await page.getByRole('link', { name: new RegExp(`Deployment ${id}`) }).click();
      const runs = page.getByRole('table', { name: 'Judgment runs of strategy.steps[1] in prod' });
      await runs.waitFor();
      const ok = (await runs.getByRole('row', { name: /error-rate/ }).textContent()) ?? '';
      expect(ok).toContain('0.02');
      expect(ok).toContain('[0, 0.05]');
      expect(ok).toContain('passed');
      expect(ok).toContain('Run 1');
      expect(ok).toContain('→'); // the window: start → end
      const bad = (await runs.getByRole('row', { name: /latency/ }).textContent()) ?? '';
      expect(bad).toContain('failed');
      expect(bad).toContain(`answered HTTP 500: ${HOSTILE}`);
      expect(bad).toContain('[−∞, 300]');
      expect(await page.locator('main img').count()).toBe(0);
      // The graph says what prod waits for: a person's roll decision (only those buttons apply).
      expect(await page.locator('svg.graph [data-env="prod"]').getAttribute('aria-label')).toContain(
        'waiting for a person to roll back or roll forward',
      );
      expect(await page.getByRole('button', { name: 'Roll forward' }).count()).toBe(1);
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      // Per query a small chart of the values against the limits (issue 16): its name says them.
      const chart = page.getByRole('img', { name: /^error-rate: / });
      expect(await chart.getAttribute('aria-label')).toBe(
        'error-rate: run 1 0.02 (passed); limits at least 0, at most 0.05',
      );
      expect(await chart.locator('circle.chart-pass').count()).toBe(1);
      expect(await chart.locator('[data-limit]').count()).toBe(2);
      expect(await page.getByRole('img', { name: /^latency: / }).getAttribute('aria-label')).toBe(
        'latency: run 1 — (failed); limits none below, at most 300',
      );
      expect(
        await page
          .getByRole('img', { name: /^latency: / })
          .locator('[data-no-value]')
          .count(),
      ).toBe(1);

      await page.getByRole('button', { name: 'Roll back' }).click();
      // Roll back is destructive: it confirms and takes a reason first (issue 16).
      const confirm = page.getByRole('dialog', { name: 'Roll back prod?' });
      await confirm.getByLabel(/Reason/).fill('latency query fails');
      await confirm.getByRole('button', { name: 'Roll back prod' }).click();
      const title = page.getByRole('heading', { level: 1 });
      await expect.poll(() => title.textContent(), { timeout: 15_000 }).toContain('ROLLED_BACK');
      expect(dialogs).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      metrics.closeAllConnections();
      await new Promise<void>((r) => metrics.close(() => r()));
    }
  });

  it('works with role-limited tokens: a button the role does not allow shows the 403 naming the role; Decisions show who and why', async () => {
    needBrowser();
    const token = async (name: string, roles: string[]) =>
      (await api<{ token: string }>('POST', '/api/v1/tokens', { name, roles })).json.token;
    const viewer = await token('ui-viewer', ['viewer']);
    const approver = await token('ui-approver', ['prod-approvers']);
    const started = await api<{ deploymentId: string }>(
      'POST',
      '/api/v1/deployments',
      `${deployFileHead('ui-roles', { configMap: 'ui-roles' })}        - pause:
            untilApproved: true
            requiresRoles: [prod-approvers]
`,
      'application/yaml',
    );
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    const id = started.json.deploymentId;
    await waitForDeployment(plane.api, id, ['AWAITING_APPROVAL'], {
      what: 'the deployment to wait for approval',
    });
    const signIn = async (value: string) => {
      await page.evaluate((t) => sessionStorage.setItem('borealis.apiToken', t), value);
      await page.goto(`${cp.url}/ui/#/deployments/${id}`);
      await expect
        .poll(() => page.getByRole('heading', { level: 1 }).textContent())
        .toContain('AWAITING_APPROVAL');
    };

    // A viewer reads everything, and each refused button says which role it needs.
    await signIn(viewer);
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.locator('#env-prod-result').textContent())
      .toMatch(/Approve failed: .*prod-approvers.*BRL_ERR_FORBIDDEN/);
    await page.getByRole('button', { name: 'Cancel' }).click();
    // Cancel is destructive: it confirms and takes a reason first (issue 16).
    const confirm = page.getByRole('dialog', { name: 'Cancel prod?' });
    await confirm.getByLabel(/Reason/).fill('wrong build');
    await confirm.getByRole('button', { name: 'Cancel prod' }).click();
    await expect
      .poll(() => page.locator('#env-prod-result').textContent())
      .toMatch(/Cancel failed: .*deployer.*BRL_ERR_FORBIDDEN/);
    expect((await api<{ status: string }>('GET', `/api/v1/deployments/${id}`)).json.status).toBe(
      'AWAITING_APPROVAL',
    );

    // The approver role approves; the Decisions table names who started it and who approved.
    await signIn(approver);
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent(), { timeout: 15_000 })
      .toContain('SUCCEEDED');
    const decisions = page.getByRole('region', { name: 'Who decided what, and why' });
    await expect.poll(() => decisions.textContent()).toContain('ui-approver');
    const rows = await decisions.getByRole('row').allTextContents();
    expect(rows.some((r) => r.includes('env') && r.includes('start'))).toBe(true);
    expect(rows.some((r) => r.includes('ui-approver') && r.includes('approve') && r.includes('prod'))).toBe(
      true,
    );
    expect(pageErrors).toEqual([]);
  });

  it('a token that stops working brings the token prompt back, with the reason', async () => {
    needBrowser();
    await page.evaluate(() => sessionStorage.setItem('borealis.apiToken', 'revoked-token'));
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('Missing or invalid bearer token');
    expect(await page.evaluate(() => sessionStorage.getItem('borealis.apiToken'))).toBeNull();
  });
});
