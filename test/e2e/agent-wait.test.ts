import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookYaml } from '../kit/deploy-file.js';
import { type HookServer, startHookServer } from './engine/support.js';
import { type ServerProc, startConnectedAgent, startServer } from './support/control-plane.js';
import { type Proc, stopAll, until } from './support/processes.js';

/**
 * Waiting for an agent is not a failed attempt: a `remoteNetworkAgent` gate that finds no agent
 * of its identifier waits for one (BOREALIS_AGENT_WAIT), says so in the deployment's status, and
 * goes on when the agent is back. The real programs: control plane, agent, a receiver that calls
 * back.
 */
let hooks: HookServer;
const servers: ServerProc[] = [];

beforeAll(async () => {
  hooks = await startHookServer();
}, 30_000);

afterAll(async () => {
  await stopAll();
  for (const s of servers) s.cleanup();
  await hooks?.close();
});

async function server(env: Record<string, string> = {}): Promise<ServerProc> {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

function startAgent(s: ServerProc, identifier: string): Promise<Proc> {
  return startConnectedAgent(s, identifier, `${identifier}-cred`);
}

/** An approval before deployment, then a gate through the agent after it (retryCount 0). */
function deployFile(application: string, identifier: string): string {
  return `application: ${application}
targets:
  staging:
    account: ${identifier}
    namespace: ${application}
    constraints:
      beforeDeployment:
        - pause:
            untilApproved: true
      afterDeployment:
        - runWebhook:
            name: smoke-tests
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: ${application} }
webhooks:
${webhookYaml({ name: 'smoke-tests', uri: `${hooks.url}/ok/${application}`, networkMode: 'remoteNetworkAgent' })}`;
}

interface RunJson {
  location: string;
  status: string;
  attempts: number;
  reason?: string;
  waiting?: { agentIdentifier: string; until: string; message: string };
}
interface DeploymentJson {
  status: string;
  environments: Array<{
    status: string;
    steps: Array<{ location: string; status: string; message?: string }>;
    webhookRuns: RunJson[];
  }>;
}

async function deployment(s: ServerProc, id: string): Promise<DeploymentJson> {
  return (await s.api<DeploymentJson>('GET', `/api/v1/deployments/${id}`)).json;
}

async function start(s: ServerProc, application: string, identifier: string): Promise<string> {
  const { status, json } = await s.api('POST', '/api/v1/deployments', {
    deployFile: deployFile(application, identifier),
  });
  expect(status, JSON.stringify(json)).toBe(202);
  return json.deploymentId as string;
}

describe('a gate whose agent is not connected', () => {
  it('waits while the agent restarts mid-deployment, shows it in the status, then succeeds with one call', async () => {
    const s = await server();
    let agent = await startAgent(s, 'restart-rna');
    const id = await start(s, 'wait-app', 'restart-rna');
    await until(
      async () => (await deployment(s, id)).environments[0]?.status === 'AWAITING_APPROVAL',
      'the approval to be asked for',
    );
    // The agent goes away (a restart for an upgrade) while the deployment waits for a person.
    await agent.stop();
    await until(
      async () => (await s.api('GET', '/api/v1/agents')).json.agents.length === 0,
      'the agent to leave',
    );
    expect(
      (await s.api('POST', `/api/v1/deployments/${id}/approve`, { environment: 'staging' })).status,
    ).toBe(200);
    const waiting = await until(async () => {
      const d = await deployment(s, id);
      const run = d.environments[0]?.webhookRuns[0];
      return run?.waiting ? { d, run } : undefined;
    }, 'the gate to wait for the agent');
    expect(waiting.run).toMatchObject({ status: 'pending', attempts: 0 });
    expect(waiting.run.waiting?.agentIdentifier).toBe('restart-rna');
    expect(waiting.run.waiting?.message).toContain('waiting for agent "restart-rna" to connect');
    // Gives up two minutes (the default BOREALIS_AGENT_WAIT) after it started waiting, not sooner.
    expect(Date.parse(waiting.run.waiting!.until)).toBeGreaterThan(Date.now() + 60_000);
    const step = waiting.d.environments[0]?.steps.find((x) => x.location === waiting.run.location);
    expect(step?.message).toContain('waiting for agent "restart-rna"');
    expect(hooks.calls.filter((c) => c.path === '/ok/wait-app')).toHaveLength(0);

    agent = await startAgent(s, 'restart-rna');
    await until(
      async () => (await deployment(s, id)).status === 'SUCCEEDED',
      'the deployment to succeed',
      20_000,
    );
    const run = (await deployment(s, id)).environments[0]?.webhookRuns[0];
    expect(run).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(run?.waiting).toBeUndefined();
    expect(hooks.calls.filter((c) => c.path === '/ok/wait-app')).toHaveLength(1);
  }, 60_000);

  it('past BOREALIS_AGENT_WAIT the gate fails, naming the agent and how to fix it', async () => {
    const s = await server({ BOREALIS_AGENT_WAIT: '1s' });
    const id = await start(s, 'lonely-app', 'nobody-rna');
    await until(
      async () => (await deployment(s, id)).environments[0]?.status === 'AWAITING_APPROVAL',
      'the approval to be asked for',
    );
    await s.api('POST', `/api/v1/deployments/${id}/approve`, { environment: 'staging' });
    await until(async () => (await deployment(s, id)).status === 'FAILED', 'the deployment to fail', 20_000);
    const run = (await deployment(s, id)).environments[0]?.webhookRuns[0];
    expect(run?.status).toBe('failed');
    expect(run?.attempts).toBe(0);
    expect(run?.reason).toContain('no agent "nobody-rna" connected within');
    expect(run?.reason).toContain('BOREALIS_AGENT_WAIT=1s');
    expect(run?.reason).toContain('BOREALIS_AGENT_IDENTIFIER=nobody-rna');
    expect(hooks.calls.filter((c) => c.path === '/ok/lonely-app')).toHaveLength(0);
  }, 60_000);
});
