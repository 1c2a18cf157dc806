import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployFileHead, webhookYaml } from '../kit/deploy-file.js';
import { until } from '../kit/until.js';
import { type DeploymentJson, type HookServer, startHookServer } from './engine/support.js';
import { type ServerProc, startServer, TEST_TOKEN } from './support/control-plane.js';
import { agentEnv, bins, type Proc, type Run, runCli, startProcess, stopAll } from './support/processes.js';

/**
 * Issue 10, the agents' half, through the real programs: the control plane, the agents and the
 * CLI are each their own process. A credential for `staging` cannot join `prod-eu`'s pool, so a
 * deployment whose webhooks go to `prod-eu` is served only by the real prod agent; a secret
 * templated into a webhook's path and query never reaches the agent's output; a revoked
 * credential's agent is disconnected at once, its call in flight fails as disconnected, and it
 * stops dialling.
 */
let server: ServerProc;
let hooks: HookServer;
let silent: Server;
let silentUrl: string;
let prod: { clientId: string; clientSecret: string };
let staging: { clientId: string; clientSecret: string };
let prodAgent: Proc;
let forged: Proc;
let prodInstance: string;
const SECRET = `sk_live_${randomBytes(12).toString('hex')}`;

function cli(args: string[], stdin?: string): Promise<Run> {
  return runCli(args, { url: server.url, token: TEST_TOKEN, ...(stdin === undefined ? {} : { stdin }) });
}

async function cliJson<T>(...args: string[]): Promise<T> {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`borealis ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function agentEnvFor(identifier: string, cred: { clientId: string; clientSecret: string }) {
  return agentEnv({ url: server.url, identifier, cred, reconnectMax: '2s' });
}

interface AgentsJson {
  agents: Array<{
    agentIdentifier: string;
    connections: Array<{
      instanceId: string;
      clientId: string;
      wildcard: boolean;
      credentialName: string;
      streamsInFlight: number;
    }>;
  }>;
}

async function pool(identifier: string) {
  const { json } = await server.api<AgentsJson>('GET', '/api/v1/agents');
  return json.agents.find((a) => a.agentIdentifier === identifier)?.connections ?? [];
}

const cpRefusals = (clientId: string) =>
  server.proc.lines.filter(
    (l) =>
      String(l.json?.msg ?? '').startsWith('refused an agent connection') && l.json?.clientId === clientId,
  );

beforeAll(async () => {
  server = await startServer({ BOREALIS_LOG_LEVEL: 'info' });
  hooks = await startHookServer();
  // Accepts calls and never answers: a call through it stays in flight.
  silent = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  prod = await cliJson(
    'agent-credentials',
    'create',
    '--name',
    'prod',
    '--identifier',
    'prod-eu',
    '-o',
    'json',
  );
  staging = await cliJson(
    'agent-credentials',
    'create',
    '--name',
    'staging',
    '--identifier',
    'staging',
    '-o',
    'json',
  );
  prodAgent = startProcess(bins.agent, { env: agentEnvFor('prod-eu', prod) });
  prodInstance = String((await prodAgent.waitForLog('connected')).instanceId);
}, 60_000);

afterAll(async () => {
  await stopAll();
  silent?.closeAllConnections();
  silent?.close();
  await hooks?.close();
  server?.cleanup();
});

describe('agent credentials name their identifiers', () => {
  it('creating one without identifiers is refused, saying how (CLI and API)', async () => {
    const r = await cli(['agent-credentials', 'create', '--name', 'nothing']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--identifier prod-eu');
    expect(r.stderr).toContain('--identifier "*"');
    const { status, json } = await server.api('POST', '/api/v1/agent-credentials', { name: 'nothing' });
    expect(status).toBe(400);
    expect(json.error.field).toBe('allowedIdentifiers');
    expect(json.error.message).toContain('{"name": "eu-agents", "allowedIdentifiers": ["prod-eu"]}');
    expect(json.error.message).toContain('["*"]');
  });

  it('--identifier repeats; set-identifiers and revoke take a unique prefix of the client id', async () => {
    const two = await cliJson<{ clientId: string; allowedIdentifiers: string[]; wildcard: boolean }>(
      'agent-credentials',
      'create',
      '--name',
      'two',
      '--identifier',
      'eu-1',
      '--identifier',
      'eu-2',
      '-o',
      'json',
    );
    expect(two).toMatchObject({ allowedIdentifiers: ['eu-1', 'eu-2'], wildcard: false });
    const prefix = two.clientId.slice(0, 14);
    const set = await cli(['agent-credentials', 'set-identifiers', prefix, '--identifier', 'eu-*']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`${two.clientId} (two) may now serve: eu-*  [wildcard]`);
    const bad = await cli(['agent-credentials', 'set-identifiers', prefix, '--identifier', 'eu 3']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('allowedIdentifiers[0]');
    const revoked = await cli(['agent-credentials', 'revoke', prefix]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await cli(['agent-credentials', 'list'])).stdout).not.toContain(two.clientId);
    const none = await cli(['agent-credentials', 'revoke', two.clientId]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('No active agent credential');
  });

  it('a staging credential claiming prod-eu is refused with 403, logged on both sides with the fix, without a loop', async () => {
    forged = startProcess(bins.agent, { env: agentEnvFor('prod-eu', staging) });
    await until(
      () =>
        forged.lines.some((l) =>
          String(l.json?.msg ?? '').startsWith('control plane refused the connection'),
        ),
      'the forged agent to log its refusal',
    );
    const line = forged.lines.find((l) =>
      String(l.json?.msg ?? '').startsWith('control plane refused the connection'),
    )?.json;
    expect(line).toMatchObject({ level: 50, status: 403, code: 'BRL_ERR_AGENT_IDENTIFIER_FORBIDDEN' });
    expect(String(line?.msg)).toContain(`set-identifiers ${staging.clientId} --identifier prod-eu`);
    expect(String(line?.msg)).toContain('BOREALIS_AGENT_IDENTIFIER');
    // No hot loop: the next attempt waits at least BOREALIS_RECONNECT_MAX (2 s).
    await until(
      () => forged.lines.some((l) => String(l.json?.msg ?? '').startsWith('reconnecting in')),
      'the forged agent to schedule its next attempt',
    );
    const next = forged.lines.find((l) => String(l.json?.msg ?? '').startsWith('reconnecting in'))?.json;
    expect(Number(next?.delayMs)).toBeGreaterThanOrEqual(2000);

    const logged = cpRefusals(staging.clientId)[0]?.json;
    expect(logged).toMatchObject({
      code: 'BRL_ERR_AGENT_IDENTIFIER_FORBIDDEN',
      agentIdentifier: 'prod-eu',
      status: 403,
    });
    expect(String(logged?.msg)).toContain('set-identifiers');

    const connections = await pool('prod-eu');
    expect(connections).toHaveLength(1);
    expect(connections[0]).toMatchObject({
      instanceId: prodInstance,
      clientId: prod.clientId,
      wildcard: false,
    });
    expect(forged.countLogs('connected')).toBe(0);
  });

  it("a deployment whose webhooks go to prod-eu is served only by the real prod agent; the secret in its URL stays out of the agent's output", async () => {
    const set = await cli(['secrets', 'set', 'hook_key'], SECRET);
    expect(set.code, set.stderr).toBe(0);
    const hook = (name: string, path: string) =>
      webhookYaml({
        name,
        uri: `${hooks.url}/ok/${name}${path}`,
        networkMode: 'remoteNetworkAgent',
        agentIdentifier: 'prod-eu',
      });
    const yaml = `${deployFileHead('identity-app')}        - runWebhook:
            name: gate-1
        - runWebhook:
            name: gate-2
        - runWebhook:
            name: gate-3
        - runWebhook:
            name: secret-gate
webhooks:
${hook('gate-1', '')}${hook('gate-2', '')}${hook('gate-3', '')}${hook('secret-gate', '/{{secrets.hook_key}}/x?key={{secrets.hook_key}}&plain=1')}`;
    const started = await fetch(`${server.url}/api/v1/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/yaml' },
      body: yaml,
    });
    const startAnswer = (await started.json()) as { deploymentId: string };
    expect(started.status, JSON.stringify(startAnswer)).toBe(202);
    const { deploymentId } = startAnswer;
    const done = await until(
      async () => {
        const { json } = await server.api<DeploymentJson>('GET', `/api/v1/deployments/${deploymentId}`);
        return ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'CANCELLED'].includes(json.status) ? json : undefined;
      },
      'the deployment to finish',
      20_000,
    ).catch(async (err) => {
      const { json } = await server.api('GET', `/api/v1/deployments/${deploymentId}`);
      throw new Error(`${String(err)}: ${JSON.stringify(json).slice(0, 3000)}`);
    });
    expect(done.status).toBe('SUCCEEDED');
    const runs = done.environments.flatMap((e) => e.webhookRuns) as Array<{
      status: string;
      agent?: { agentIdentifier: string; instanceId: string };
    }>;
    expect(runs).toHaveLength(4);
    for (const run of runs) {
      expect(run.status).toBe('succeeded');
      expect(run.agent).toEqual({ agentIdentifier: 'prod-eu', instanceId: prodInstance });
    }
    // The real endpoint was called, with the secret, by the real agent.
    expect(hooks.calls.some((c) => c.path === `/ok/secret-gate/${SECRET}/x?key=${SECRET}&plain=1`)).toBe(
      true,
    );

    const out = prodAgent.output();
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(encodeURIComponent(SECRET));
    expect(out).not.toContain('key=');
    const paths = prodAgent.lines.filter((l) => l.json?.msg === 'request done').map((l) => l.json?.path);
    expect(paths).toContain('/ok/secret-gate/****/x');
    expect(paths).toContain('/ok/gate-1');
    expect(forged.output()).not.toContain(SECRET);
  });

  it('a wildcard credential is flagged in `agents list` and `agent-credentials list`', async () => {
    const any = await cliJson<{ clientId: string; clientSecret: string; wildcard: boolean }>(
      'agent-credentials',
      'create',
      '--name',
      'anything',
      '--identifier',
      '*',
      '-o',
      'json',
    );
    expect(any.wildcard).toBe(true);
    const misc = startProcess(bins.agent, { env: agentEnvFor('misc-rna', any) });
    await misc.waitForLog('connected');
    await until(async () => (await pool('misc-rna')).length === 1, 'misc-rna listed');
    expect((await pool('misc-rna'))[0]).toMatchObject({ wildcard: true, credentialName: 'anything' });
    const table = await cli(['agents', 'list']);
    expect(table.code).toBe(0);
    const miscRow = table.stdout.split('\n').find((l) => l.startsWith('misc-rna'));
    const prodRow = table.stdout.split('\n').find((l) => l.startsWith('prod-eu'));
    expect(miscRow).toContain('WILDCARD');
    expect(prodRow).not.toContain('WILDCARD');
    expect(table.stdout).toContain('agent-credentials set-identifiers CLIENT_ID --identifier ID');
    const creds = await cli(['agent-credentials', 'list']);
    expect(creds.stdout).toMatch(new RegExp(`${any.clientId}\\s+anything\\s+\\*\\s+\\[wildcard\\]`));
    expect(creds.stdout).toMatch(new RegExp(`${prod.clientId}\\s+prod\\s+prod-eu\\s`));
    expect(creds.stdout).not.toContain(any.clientSecret);
    await misc.stop();
  });

  it('revoke: the session closes at once, its call in flight fails as disconnected, and the agent stops dialling', async () => {
    const probe = server.api('POST', '/api/v1/agents/prod-eu/probe', { url: `${silentUrl}/slow` });
    await until(async () => (await pool('prod-eu'))[0]?.streamsInFlight === 1, 'the probe in flight');
    const revoked = await cli(['agent-credentials', 'revoke', prod.clientId]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`Revoked ${prod.clientId}`);
    // The 204 came after this replica closed the session.
    expect(await pool('prod-eu')).toEqual([]);
    const answer = await probe;
    expect(answer.status).toBe(502);
    expect(answer.json.error.code).toBe('BRL_ERR_AGENT_DISCONNECTED');

    await until(
      () =>
        prodAgent.lines.some((l) => String(l.json?.msg ?? '').includes('was revoked by the control plane')),
      'the agent to say it was revoked',
    );
    const line = prodAgent.lines.find((l) => String(l.json?.msg ?? '').includes('was revoked'))?.json;
    expect(line).toMatchObject({ level: 50, clientId: prod.clientId });
    expect(String(line?.msg)).toContain('borealis agent-credentials create --name NAME --identifier prod-eu');
    // It does not dial again: with BOREALIS_RECONNECT_MAX=2s a redialling agent would have been
    // refused (401, revoked) at least once in 5 s.
    await new Promise((r) => setTimeout(r, 5000));
    expect(cpRefusals(prod.clientId)).toHaveLength(0);
    expect(
      prodAgent.lines.filter((l) => String(l.json?.msg ?? '').startsWith('reconnecting in')),
    ).toHaveLength(0);
    expect(prodAgent.child.exitCode).toBeNull();
    expect((await cli(['agent-credentials', 'list'])).stdout).not.toContain(prod.clientId);
  });
});
