import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { ControlPlane } from '@borealis/control-plane';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../kit/control-plane.js';
import { webhookYaml } from '../kit/deploy-file.js';
import { type HookServer, startHookServer } from './engine/support.js';
import { hasBrowser, needBrowser, openBrowserPage } from './support/browser.js';
import { until } from './support/processes.js';

/**
 * The view a release manager keeps open (issue 16), in Debian's chromium: the deployment graph of
 * a three-environment dependsOn chain whose last environment waits for an approval only
 * release-managers may give; a refusal (a viewer's token) shown as the API's message; approving
 * from the graph with a reason, which lands in the audit trail; destructive decisions that
 * confirm and need a reason; keyboard order and the palette's contrast. Screenshots at 1360×900
 * go to test-output/ui/ (BOREALIS_UI_SCREENSHOTS names another folder).
 */
const ADMIN = 'ui-rm-admin-token-0123456789abcdef';
const SHOTS = resolve(process.env.BOREALIS_UI_SCREENSHOTS ?? 'test-output/ui');
const HOSTILE = '<img src=x onerror=alert(1)>';
const MD_MESSAGE = `**Smoke** passed ${HOSTILE} [log](https://ci.example.com/1) [bad](javascript:alert(2))`;

const CI_TOKEN = 'ci-secret-value-9f8e7d6c5b4a';

let plane: TestControlPlane;
let cp: ControlPlane;
/** An endpoint in maintenance: 503 with Retry-After: 0, a trace header and a long body. */
let failing: Server;
let failingUrl: string;
let hooks: HookServer;
let browser: Browser;
let page: Page;
let viewerToken: string;
let approverToken: string;
let graphId: string;
let dialogs: string[] = [];
let pageErrors: string[] = [];

const api = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
  plane.api<T>(method, path, body, contentType ? { contentType } : {});

async function statusOf(id: string): Promise<string> {
  return (await api<{ status: string }>('GET', `/api/v1/deployments/${id}`)).json.status;
}

async function signIn(token: string): Promise<void> {
  await page.goto(`${cp.url}/ui/#/deployments`);
  await page.evaluate(() => sessionStorage.clear());
  await page.reload();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Deployments', level: 1 }).waitFor();
}

async function shot(name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

beforeAll(async () => {
  if (!hasBrowser) return;
  mkdirSync(SHOTS, { recursive: true });
  plane = await startTestControlPlane({ apiToken: ADMIN, directAllow: ['127.0.0.1/32'] });
  cp = plane.cp;
  hooks = await startHookServer();
  await cp.secrets.put('ci_token', CI_TOKEN);
  failing = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(503, { 'retry-after': '0', 'x-trace': 'trace-42', 'content-type': 'text/plain' });
      res.end(`maintenance window until 10:00 ${'z'.repeat(3000)}`);
    });
  });
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
  failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
  viewerToken = (await cp.store.apiTokens.create({ name: 'vera', roles: ['viewer'] })).token;
  approverToken = (await cp.store.apiTokens.create({ name: 'rita', roles: ['release-managers'] })).token;
  ({ browser, page, dialogs, pageErrors } = await openBrowserPage({ defaultTimeoutMs: 15_000 }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hooks?.close();
  failing?.closeAllConnections();
  await new Promise((r) => (failing ? failing.close(r) : r(undefined)));
  await plane?.close();
});

function chainFile(): string {
  return `application: graph-app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  dev:
    account: dev-cluster
    namespace: graph-app
    constraints:
      beforeDeployment:
        - runWebhook:
            name: smoke
  staging:
    account: staging-cluster
    namespace: graph-app
    constraints:
      dependsOn: [dev]
  prod:
    account: prod-cluster
    namespace: graph-app
    strategy: canary-25
    constraints:
      dependsOn: [staging]
strategies:
  canary-25:
    canary:
      steps:
        - setWeight:
            weight: 25
        - pause:
            untilApproved: true
            requiresRoles: [release-managers]
webhooks:
${webhookYaml({ name: 'smoke', uri: `${hooks.url}/hold/smoke` })}`;
}

describe('the release manager’s view in a real browser', () => {
  it('draws a three-environment dependsOn chain as a graph, the last one waiting for release-managers', async () => {
    needBrowser();
    // A version already runs in prod, so the canary's 25 % is a share next to it.
    const first = await api<{ deploymentId: string }>(
      'POST',
      '/api/v1/deployments',
      `application: graph-app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  prod:
    account: prod-cluster
    namespace: graph-app
`,
      'application/yaml',
    );
    expect(first.status, JSON.stringify(first.json)).toBe(202);
    await until(
      async () => (await statusOf(first.json.deploymentId)) === 'SUCCEEDED',
      'the first version to run in prod',
      15_000,
    );
    const started = await api<{ deploymentId: string }>(
      'POST',
      '/api/v1/deployments',
      chainFile(),
      'application/yaml',
    );
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    graphId = started.json.deploymentId;
    await until(() => hooks.held.get('smoke')?.length, 'the smoke webhook to reach the receiver', 15_000);
    expect(await hooks.callBack('smoke', true, MD_MESSAGE)).toBe(200);
    await until(
      async () => (await statusOf(graphId)) === 'AWAITING_APPROVAL',
      'prod to wait for approval',
      20_000,
    );

    await signIn(viewerToken);
    await page.getByRole('link', { name: new RegExp(`Deployment ${graphId}`) }).click();
    const graph = page.getByRole('group', { name: /Environments in dependsOn order/ });
    await graph.waitFor();
    // Three nodes, each a link whose name says what the node shows, in dependsOn order.
    const nodes = graph.getByRole('link');
    await expect.poll(() => nodes.count()).toBe(3);
    const labels = await nodes.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    expect(labels[0]).toMatch(/^dev: SUCCEEDED; \d+ of \d+ steps done/);
    expect(labels[1]).toMatch(/^staging: SUCCEEDED; .*after dev$/);
    expect(labels[2]).toMatch(/^prod: AWAITING_APPROVAL; step \d+ of \d+: pause until approved/);
    expect(labels[2]).toContain('new version traffic 25%');
    expect(labels[2]).toContain('waiting for approval by release-managers');
    expect(labels[2]).toMatch(/elapsed \d+ s/);
    expect(labels[2]).toContain('after staging');
    // The edges: dev → staging → prod, drawn left to right.
    const edges = await page
      .locator('svg.graph path.graph-edge')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-from')}→${e.getAttribute('data-to')}`));
    expect(edges.sort()).toEqual(['dev→staging', 'staging→prod']);
    const x = await nodes.evaluateAll((els) =>
      els.map((e) => (e as unknown as SVGGraphicsElement).getBBox().x),
    );
    expect(x[0]).toBeLessThan(x[1]!);
    expect(x[1]).toBeLessThan(x[2]!);
    // The canary bar is drawn at a quarter of its track.
    const bar = await page
      .locator('[data-env="prod"] .graph-bar')
      .evaluate((el) => Number(el.getAttribute('width')));
    const track = await page
      .locator('[data-env="prod"] .graph-bar-track')
      .evaluate((el) => Number(el.getAttribute('width')));
    expect(bar / track).toBeCloseTo(0.25, 2);
    // The detail opened is the environment a person is needed for.
    await page.getByRole('heading', { name: /Environment prod/ }).waitFor();
    await shot('deployment-graph');
  });

  it('clicking a node opens its detail; a viewer’s Approve is refused with the API’s reason', async () => {
    needBrowser();
    await page.locator('svg.graph [data-env="dev"]').click();
    await page.getByRole('heading', { name: /Environment dev/ }).waitFor();
    expect(page.url()).toMatch(/#\/deployments\/[0-9a-f-]+\/dev$/);
    // dev is done: no decision applies there, so no button is offered.
    expect(await page.getByRole('group', { name: 'Decisions for dev' }).count()).toBe(0);
    // The smoke webhook's mdMessage renders the same safe subset in the step and in the run.
    const runRow = page
      .getByRole('table', { name: 'Webhook runs of dev' })
      .getByRole('row', { name: /smoke/ });
    expect(await runRow.locator('strong').textContent()).toBe('Smoke');
    expect(await runRow.textContent()).toContain(HOSTILE);
    expect(await page.locator('main img').count()).toBe(0);

    await page.locator('svg.graph [data-env="prod"]').click();
    const detail = page.getByRole('region', { name: /Environment prod/ });
    await detail.getByRole('button', { name: 'Approve' }).waitFor();
    expect(await detail.textContent()).toContain('who may: release-managers (or admin)');
    // A decision that applies, by a token whose roles do not allow it: the API's own message.
    await detail.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.locator('#env-prod-result').textContent())
      .toMatch(/Approve failed: .*release-managers.*\(BRL_ERR_/);
    expect(await statusOf(graphId)).toBe('AWAITING_APPROVAL');
  });

  it('destructive decisions confirm and need a reason; stepping back sends nothing', async () => {
    needBrowser();
    await page.getByRole('button', { name: 'Cancel' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel prod?' });
    await dialog.waitFor();
    // The focus is in the dialog, on the reason.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('confirm-reason');
    await dialog.getByRole('button', { name: 'Cancel prod' }).click();
    await expect
      .poll(() => dialog.getByRole('alert').textContent())
      .toContain('the reason is kept in the audit log');
    await dialog.getByRole('button', { name: 'Keep going, do nothing' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await statusOf(graphId)).toBe('AWAITING_APPROVAL');
    // Escape steps back too.
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.getByRole('dialog', { name: 'Reject prod?' }).waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    expect(await statusOf(graphId)).toBe('AWAITING_APPROVAL');
  });

  it('a release manager approves from the graph with a reason; the audit trail shows who and why', async () => {
    needBrowser();
    await signIn(approverToken);
    await page.goto(`${cp.url}/ui/#/deployments/${graphId}/prod`);
    const detail = page.getByRole('region', { name: /Environment prod/ });
    await detail.getByRole('button', { name: 'Approve' }).waitFor();
    await detail.getByLabel('Reason').fill('CHG-1234 signed off by the CAB');
    await detail.getByRole('button', { name: 'Approve' }).click();
    await until(async () => (await statusOf(graphId)) === 'SUCCEEDED', 'the deployment to finish', 20_000);
    const title = page.getByRole('heading', { level: 1 });
    await expect.poll(() => title.textContent(), { timeout: 15_000 }).toContain('SUCCEEDED');
    const decision = page
      .getByRole('table', { name: 'Who decided what, and why' })
      .getByRole('row', { name: /rita/ });
    await expect.poll(() => decision.textContent()).toContain('CHG-1234 signed off by the CAB');
    expect(await decision.textContent()).toContain('approve');
    // Nothing applies to a finished deployment: no decision buttons anywhere.
    expect(await page.getByRole('button', { name: /Approve|Reject|Cancel|Roll/ }).count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('a failed webhook: later steps and the dependent environment show as skipped; its attempts page masks the secret', async () => {
    needBrowser();
    const started = await api<{ deploymentId: string }>(
      'POST',
      '/api/v1/deployments',
      `application: fail-app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  staging:
    account: staging-cluster
    namespace: fail-app
    constraints:
      beforeDeployment:
        - runWebhook:
            name: deploy-check
  prod:
    account: prod-cluster
    namespace: fail-app
    constraints:
      dependsOn: [staging]
webhooks:
  - name: deploy-check
    method: POST
    uriTemplate: ${failingUrl}/checks
    retryCount: 1
    headers:
      - key: Authorization
        value: 'Bearer {{secrets.ci_token}}'
      - key: Content-Type
        value: application/json
    bodyTemplate:
      inline: >-
        {"app": "{{armory.applicationName}}", "callbackUri": "{{armory.callbackUri}}/callback"}
`,
      'application/yaml',
    );
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    const id = started.json.deploymentId;
    await until(async () => (await statusOf(id)) === 'FAILED', 'the deployment to fail', 20_000);

    await page.goto(`${cp.url}/ui/#/deployments/${id}`);
    // The failed environment opens; nothing after the failure is pending.
    const detail = page.getByRole('region', { name: /Environment staging/ });
    await detail.waitFor();
    const deployStep = detail.getByRole('row', { name: /deploy new version/ });
    expect(await deployStep.getByText('skipped').count()).toBe(1);
    expect(await detail.getByText('pending', { exact: true }).count()).toBe(0);
    const prod = await page.locator('svg.graph [data-env="prod"]').getAttribute('aria-label');
    expect(prod).toMatch(/^prod: CANCELLED; step 0 of \d+; after staging$/);
    expect(await page.locator('svg.graph [data-env="prod"]').textContent()).not.toContain('waits for');

    await detail.getByRole('link', { name: /deploy-check: request, attempts and callback/ }).click();
    await page.getByRole('heading', { level: 1, name: /Webhook deploy-check failed/ }).waitFor();
    const request = page.getByRole('region', { name: 'Request as sent' });
    expect(await request.textContent()).toContain(`POST ${failingUrl}/checks`);
    const auth = request.getByRole('row', { name: /Authorization/ });
    expect(await auth.textContent()).toContain('Bearer ****');
    expect(await request.getByLabel('Request body').textContent()).toContain('"app": "fail-app"');
    const attempts = page.getByRole('region', { name: /Attempts \(2\)/ });
    const first = attempts.getByRole('article', { name: 'Attempt 1: answered 503' });
    expect(await first.textContent()).toMatch(
      /Retried\s*at .*because .*answered 503: maintenance window.*Retry-After: 0/,
    );
    expect(await first.getByRole('row', { name: /x-trace/ }).textContent()).toContain('trace-42');
    const body = (await first.getByLabel('Answer body of attempt 1').textContent()) ?? '';
    expect(body.startsWith('maintenance window until 10:00 zzz')).toBe(true);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1024);
    expect(await attempts.getByRole('article', { name: 'Attempt 2: answered 503' }).count()).toBe(1);
    const meta = (await page.locator('main dl.meta').first().textContent()) ?? '';
    expect(meta).toContain('Routedirect');
    expect(meta).toContain('Deadline');
    expect(await page.getByRole('region', { name: 'Callback' }).textContent()).toContain('None came.');
    // The secret's value is nowhere on the page.
    expect(await page.content()).not.toContain(CI_TOKEN);
    await shot('webhook-run-attempts');
  });

  it('a hostile mdMessage on the run page is inert: text, a safe subset rendered, no script, no image', async () => {
    needBrowser();
    await page.goto(`${cp.url}/ui/#/deployments/${graphId}/dev`);
    await page.getByRole('link', { name: /smoke: request, attempts and callback/ }).click();
    const callback = page.getByRole('region', { name: 'Callback' });
    await callback.getByText('Message').waitFor();
    const text = (await callback.textContent()) ?? '';
    expect(text).toContain(HOSTILE);
    expect(text).toContain('[bad](javascript:alert(2))');
    expect(text).toContain('From127.0.0.1');
    expect(await callback.locator('strong').textContent()).toBe('Smoke');
    expect(await callback.getByRole('link').count()).toBe(1);
    expect(await callback.getByRole('link', { name: 'log' }).getAttribute('href')).toBe(
      'https://ci.example.com/1',
    );
    expect(await page.locator('main img, main script, main [onerror]').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('lists deployments filtered by application, status and time, with a status pill per environment', async () => {
    needBrowser();
    await page.goto(`${cp.url}/ui/#/deployments`);
    const results = page.locator('#deployment-results');
    await results.getByRole('row', { name: /fail-app/ }).waitFor();
    await page.getByLabel('Application').fill('graph-app');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => results.getByRole('row', { name: /fail-app/ }).count()).toBe(0);
    expect(page.url()).toContain('#/deployments?application=graph-app');
    const chain = results.getByRole('row', { name: new RegExp(`Deployment ${graphId}`) });
    const pills = await chain
      .getByRole('list', { name: 'Environments' })
      .getByRole('listitem')
      .allTextContents();
    expect(pills).toEqual(['dev SUCCEEDED', 'staging SUCCEEDED', 'prod SUCCEEDED']);
    await page.getByLabel('Application').fill('');
    await page.getByLabel('Status').selectOption('FAILED');
    await expect.poll(() => results.getByRole('row', { name: /graph-app/ }).count()).toBe(0);
    const failed = results.getByRole('row', { name: /fail-app/ });
    // prod never ran: the engine cancels what depends on a failed environment.
    expect(await failed.getByRole('listitem').allTextContents()).toEqual([
      'staging FAILED',
      'prod CANCELLED',
    ]);
    await page.getByLabel('Started').selectOption('1h');
    expect(page.url()).toMatch(/status=FAILED&since=1h$/);
    await expect.poll(() => results.getByRole('row', { name: /fail-app/ }).count()).toBe(1);
  });

  it('the history page: revisions per environment, and "Roll back to this" starts a rollback after a reason', async () => {
    needBrowser();
    await page.goto(`${cp.url}/ui/#/deployments/${graphId}`);
    // The deploy file and context it ran with, on request.
    await page.getByText('Deploy file and context this deployment ran with').click();
    const file = page.getByLabel('Deploy file');
    await expect.poll(() => file.textContent()).toContain('canary-25');
    expect(await file.textContent()).toContain('{{armory.callbackUri}}');

    await page.getByRole('link', { name: 'graph-app: revision history' }).click();
    await page.getByRole('heading', { level: 1, name: 'History of graph-app' }).waitFor();
    const prod = page.getByRole('table', { name: 'Revisions of graph-app in prod, newest first' });
    const rows = prod.getByRole('row');
    await expect.poll(() => rows.count()).toBe(3); // header and two revisions
    expect(await rows.nth(1).textContent()).toMatch(/#2\s*runs now/);
    expect(await rows.nth(1).textContent()).toContain('rita');
    // What runs now cannot be rolled back to; the earlier revision can.
    expect(await rows.nth(1).getByRole('button').count()).toBe(0);
    await shot('history');
    // rita approves, she does not deploy: the API's refusal, named.
    await prod.getByRole('button', { name: /Roll back prod to revision 1/ }).click();
    let confirm = page.getByRole('dialog', { name: 'Roll prod back to revision 1?' });
    await confirm.getByLabel(/Reason/).fill('error budget burnt by #2');
    await confirm.getByRole('button', { name: 'Roll back to revision 1' }).click();
    await expect
      .poll(() => page.locator('#history-prod-result').textContent())
      .toMatch(/Roll back failed: .*deployer.*BRL_ERR_FORBIDDEN/);

    await signIn(ADMIN);
    await page.goto(`${cp.url}/ui/#/applications/graph-app/history`);
    await prod.getByRole('button', { name: /Roll back prod to revision 1/ }).click();
    confirm = page.getByRole('dialog', { name: 'Roll prod back to revision 1?' });
    await confirm.getByLabel(/Reason/).fill('error budget burnt by #2');
    await confirm.getByRole('button', { name: 'Roll back to revision 1' }).click();
    const started = page
      .getByRole('region', { name: 'Environment prod' })
      .getByText(/Rollback to revision 1 started/);
    await started.waitFor();
    const href = (await started.getByRole('link').getAttribute('href')) ?? '';
    const newId = /#\/deployments\/([0-9a-f-]+)\//.exec(href)?.[1];
    expect(newId).toBeTruthy();
    const audit = await api<{ audit: Array<{ action: string; reason?: string }> }>(
      'GET',
      `/api/v1/deployments/${newId}`,
    );
    expect(audit.status).toBe(200);
    expect(audit.json.audit.some((e) => e.reason === 'error budget burnt by #2')).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('keyboard and screen reader basics: focus order, names, labels, and the palette’s contrast', async () => {
    needBrowser();
    // Contrast of the palette as the page has it (CSS custom properties), WCAG 2 formula.
    const ratios = await page.evaluate(() => {
      const css = getComputedStyle(document.documentElement);
      const v = (name: string) => (name.startsWith('#') ? name : css.getPropertyValue(`--${name}`).trim());
      const lum = (hex: string) => {
        const n = hex.replace('#', '');
        const [r, g, b] = [0, 2, 4].map((i) => Number.parseInt(n.slice(i, i + 2), 16) / 255);
        const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
        return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
      };
      const ratio = (a: string, b: string) => {
        const [x, y] = [lum(v(a)), lum(v(b))].sort((p, q) => q - p);
        return (x! + 0.05) / (y! + 0.05);
      };
      const text: Array<[string, string]> = [
        ['fg', 'bg'],
        ['fg', 'panel'],
        ['muted', 'bg'],
        ['muted', 'panel'],
        ['accent', 'bg'],
        ['ok', 'ok-bg'],
        ['warn', 'warn-bg'],
        ['bad', 'bad-bg'],
        ['info', 'info-bg'],
        ['#ffffff', 'accent'],
        ['#ffffff', 'bad'],
        ['#ffffff', '#0d1b2a'],
      ];
      // Non-text (focus ring, graph edges and borders, the canary bar on its track): 3:1.
      const shapes: Array<[string, string]> = [
        ['focus', 'bg'],
        ['muted', 'bg'],
        ['info', 'line'],
        ['ok', 'bg'],
        ['warn', 'bg'],
        ['bad', 'bg'],
      ];
      return {
        text: text.map(([a, b]) => ({ pair: `${a} on ${b}`, ratio: ratio(a, b) })),
        shapes: shapes.map(([a, b]) => ({ pair: `${a} on ${b}`, ratio: ratio(a, b) })),
      };
    });
    for (const { pair, ratio } of ratios.text) expect(ratio, pair).toBeGreaterThanOrEqual(4.5);
    for (const { pair, ratio } of ratios.shapes) expect(ratio, pair).toBeGreaterThanOrEqual(3);

    // Focus order on the graph page: skip link, navigation, then the page in reading order, the
    // graph's nodes in dependsOn order; every stop has a name a screen reader can say.
    await page.goto(`${cp.url}/ui/#/deployments/${graphId}`);
    await page.getByRole('group', { name: /Environments in dependsOn order/ }).waitFor();
    // A fresh load starts the Tab sequence at the top of the document.
    await page.reload();
    await page.getByRole('group', { name: /Environments in dependsOn order/ }).waitFor();
    const stops: string[] = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      stops.push(
        await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          if (!el || el === document.body) return '';
          const labelled = el.getAttribute('aria-labelledby');
          const name =
            el.getAttribute('aria-label') ??
            (labelled ? document.getElementById(labelled)?.textContent : null) ??
            ((el as HTMLInputElement).labels?.[0]?.textContent || el.textContent || '');
          return `${el.tagName.toLowerCase()}:${name.trim().replace(/\s+/g, ' ')}`;
        }),
      );
    }
    expect(stops.slice(0, 6)).toEqual([
      'a:Skip to content',
      'a:Agents',
      'a:Deployments',
      'button:Forget token',
      'a:← All deployments',
      'a:graph-app: revision history',
    ]);
    expect(stops[6]).toMatch(/^a:dev: SUCCEEDED/);
    expect(stops[7]).toMatch(/^a:staging: SUCCEEDED/);
    expect(stops[8]).toMatch(/^a:prod: SUCCEEDED/);
    // Tab leaves the page once after the last stop (to the browser), then starts again at the top.
    const cycle = stops.slice(0, stops.indexOf(''));
    expect(cycle.length).toBeGreaterThan(9);
    expect(stops[stops.indexOf('') + 1]).toBe('a:Skip to content');
    for (const stop of cycle)
      expect(stop, `a focus stop without a name: ${cycle.join(' | ')}`).toMatch(/^\w+:.+/);
    // Enter on a node opens its detail; the node keeps the focus.
    await page.locator('svg.graph [data-env="staging"]').focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Environment staging/ }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-env'))).toBe('staging');

    // Every form control has a label: the filters, the reason, the token prompt.
    const unlabelled = async () =>
      page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea')]
          .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'))
          .map((el) => el.outerHTML),
      );
    await page.goto(`${cp.url}/ui/#/deployments`);
    await page.getByLabel('Status').waitFor();
    expect(await unlabelled()).toEqual([]);
    await page.goto(`${cp.url}/ui/#/applications/graph-app/history`);
    await page.getByRole('heading', { level: 1, name: 'History of graph-app' }).waitFor();
    expect(await unlabelled()).toEqual([]);
  });

  it('live: the event stream drives the page, and nothing polls while it is open', async () => {
    needBrowser();
    const started = await api<{ deploymentId: string }>(
      'POST',
      '/api/v1/deployments',
      `application: live-app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: live}}"}]
targets:
  prod:
    account: prod-cluster
    namespace: live-app
    constraints:
      beforeDeployment:
        - pause:
            untilApproved: true
`,
      'application/yaml',
    );
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    const liveId = started.json.deploymentId;
    await until(
      async () => (await statusOf(liveId)) === 'AWAITING_APPROVAL',
      'the deployment to wait for approval',
      20_000,
    );
    const reads: string[] = [];
    const streams: string[] = [];
    const seen = (req: { url(): string }) => {
      const path = new URL(req.url()).pathname;
      if (path === `/api/v1/deployments/${liveId}`) reads.push(path);
      if (path === `/api/v1/deployments/${liveId}/events`) streams.push(path);
    };
    page.on('request', seen);
    try {
      await page.goto(`${cp.url}/ui/#/deployments/${liveId}`);
      await page.locator('[data-live="on"]').waitFor();
      // The decision controls carry their labels (the reason field is named by its label).
      const reason = page.getByRole('region', { name: /Environment prod/ }).getByLabel('Reason');
      expect(await reason.getAttribute('id')).toBe('env-prod-reason');
      const before = reads.length;
      // Polling would read every 2 s; with the stream open and nothing happening, nothing is read.
      await new Promise((r) => setTimeout(r, 5000));
      expect(reads.length).toBe(before);
      expect(streams).toHaveLength(1);
      // A decision made elsewhere (here: the API) reaches the page through the stream.
      const approved = await api('POST', `/api/v1/deployments/${liveId}/approve`, {
        environment: 'prod',
        reason: 'rollback approved from the CLI',
      });
      expect(approved.status).toBe(200);
      const title = page.getByRole('heading', { level: 1 });
      await expect.poll(() => title.textContent(), { timeout: 15_000 }).toContain('SUCCEEDED');
      expect(reads.length).toBeGreaterThan(before);
      expect(await page.locator('.updated').textContent()).toContain('The deployment has ended');
    } finally {
      page.off('request', seen);
    }
    expect(pageErrors).toEqual([]);
  });

  it('the token stays in the tab unless the person asks to remember it on this device', async () => {
    needBrowser();
    const stored = (p: Page) =>
      p.evaluate(() => ({
        local: localStorage.getItem('borealis.apiToken'),
        session: sessionStorage.getItem('borealis.apiToken'),
      }));
    await signIn(ADMIN);
    expect(await stored(page)).toEqual({ local: null, session: ADMIN });
    // Another tab of the same browser asks again.
    const other = await page.context().newPage();
    await other.goto(`${cp.url}/ui/#/agents`);
    await other.getByLabel('API token').waitFor();
    await other.close();

    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.getByLabel('API token').fill(ADMIN);
    await page.getByLabel('Remember on this device').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect((await stored(page)).local).toBe(ADMIN);
    const third = await page.context().newPage();
    await third.goto(`${cp.url}/ui/#/agents`);
    await third.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
    await third.close();
    // Forget token forgets it everywhere.
    await page.getByRole('button', { name: 'Forget token' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await stored(page)).toEqual({ local: null, session: null });
  });
});
