import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProc, startServer, TEST_TOKEN } from './support/control-plane.js';
import { runCli, stopAll, until } from './support/processes.js';

/**
 * A secret set through the CLI reaches its destination in a rendered header and appears nowhere
 * else: not in the control plane's log (at its most verbose), not in any API answer, not in the
 * CLI's output.
 */
const SECRET = 'ghp_S3cr3t-Value-THAT-must-NOT-leak-4242';
let server: ServerProc;
let receiver: Server;
let receiverPort: number;
const received: IncomingHttpHeaders[] = [];
const answers: string[] = [];
const cliOutput: string[] = [];

async function cli(args: string[], stdin?: string): Promise<string> {
  const r = await runCli(args, { url: server.url, token: TEST_TOKEN, ...(stdin ? { stdin } : {}) });
  cliOutput.push(r.stdout, r.stderr);
  if (r.code !== 0) throw new Error(`borealis ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return r.stdout;
}

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const { json } = await server.api(method, path, body);
  answers.push(json === undefined ? '' : JSON.stringify(json));
  return json;
}

beforeAll(async () => {
  // The product page's first example: answers at once, calls back from the body's callbackUri.
  receiver = createServer((req, res) => {
    received.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(204).end();
      const { client_payload } = JSON.parse(Buffer.concat(chunks).toString());
      setTimeout(() => {
        void fetch(client_payload.callbackUri, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ success: true, mdMessage: 'dispatched' }),
        });
      }, 50);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverPort = (receiver.address() as AddressInfo).port;
  server = await startServer({ BOREALIS_DIRECT_ALLOW: '127.0.0.1/32', BOREALIS_LOG_LEVEL: 'trace' });
}, 60_000);

afterAll(async () => {
  await stopAll();
  receiver?.close();
  server?.cleanup();
});

const deployFile = (port: number) => `
application: secret-demo
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]
targets:
  dev:
    account: dev-cluster
    namespace: demo
    constraints:
      beforeDeployment:
        - runWebhook:
            name: myWebhook
webhooks:
  - name: myWebhook
    method: POST
    uriTemplate: http://127.0.0.1:${port}/repos/demo/dispatches
    networkMode: direct
    headers:
      - key: Authorization
        value: token {{secrets.github_token}}
      - key: Content-Type
        value: application/json
    bodyTemplate:
      inline: >-
        {
        "event_type": "webhookCallback",
        "client_payload": {
            "callbackUri": "{{armory.callbackUri}}/callback",
            "environment": "{{context.environment}}"
            }
        }
    retryCount: 3
`;

describe('secrets', () => {
  it('are set from standard input with the CLI and listed without their values', async () => {
    expect(await cli(['secrets', 'set', 'github_token'], `${SECRET}\n`)).toContain('github_token');
    const listed = await cli(['secrets', 'list', '-o', 'json']);
    expect(JSON.parse(listed).secrets.map((s: { name: string }) => s.name)).toEqual(['github_token']);
  });

  it('reach the destination in a rendered header and appear nowhere else', async () => {
    const { deploymentId } = await api('POST', '/api/v1/deployments', {
      deployFile: deployFile(receiverPort),
      context: { environment: 'dev' },
    });
    expect(deploymentId).toBeTruthy();
    const done = await until(
      async () => {
        const d = await api('GET', `/api/v1/deployments/${deploymentId}`);
        return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK'].includes(d.status) ? d : undefined;
      },
      'the deployment to finish',
      20_000,
    );
    expect(done.status).toBe('SUCCEEDED');
    expect(received[0]?.authorization).toBe(`token ${SECRET}`);

    // Everything a person or a program could read back.
    const d = await api('GET', `/api/v1/deployments/${deploymentId}`);
    await api('GET', '/api/v1/deployments');
    await api('GET', '/api/v1/secrets');
    for (const env of d.environments ?? []) {
      for (const run of env.webhookRuns ?? []) await api('GET', `/api/v1/webhook-runs/${run.id}`);
    }
    const events = await fetch(`${server.url}/api/v1/deployments/${deploymentId}/events`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    answers.push(await events.text());
    expect(answers.join('\n')).toContain('myWebhook'); // the answers do describe the run...
    expect(answers.join('\n')).toContain('****'); // ...with the secret masked in the recorded request

    for (const [where, text] of [
      ['API answers', answers.join('\n')],
      ['control-plane log', server.proc.output()],
      ['CLI output', cliOutput.join('\n')],
    ] as const) {
      expect(text.length, where).toBeGreaterThan(0);
      expect(text.includes(SECRET), `the secret leaked into the ${where}`).toBe(false);
    }
  });
});
