import type { Command } from 'commander';
import { apiCall, CliError, clientConfig } from './client.js';
import { ago, table } from './table.js';

interface AgentsAnswer {
  agents: Array<{
    agentIdentifier: string;
    connections: Array<{
      instanceId: string;
      version: string;
      clientId: string;
      remoteAddress: string;
      connectedAt: string;
      lastHeartbeatAt: string | null;
      streamsInFlight: number;
      draining: boolean;
    }>;
  }>;
}

export function registerAgentCommands(program: Command, out: (s: string) => void): void {
  const agents = program
    .command('agents')
    .description('Remote Network Agents connected to the control plane');
  agents
    .command('list')
    .description('list connected agents, one line per connection')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (opts: { output: string }) => {
      const answer = await apiCall<AgentsAnswer>(clientConfig(), 'GET', '/api/v1/agents');
      if (opts.output === 'json') {
        out(JSON.stringify(answer, null, 2));
        return;
      }
      if (opts.output !== 'table')
        throw new CliError(`--output ${opts.output} is not known; use table or json`, 2);
      const rows = answer.agents.flatMap((g) =>
        g.connections.map((c) => [
          g.agentIdentifier,
          c.instanceId.slice(0, 12),
          c.version,
          c.draining ? 'draining' : 'connected',
          ago(c.connectedAt),
          ago(c.lastHeartbeatAt),
          String(c.streamsInFlight),
          c.remoteAddress,
          c.clientId,
        ]),
      );
      if (rows.length === 0) {
        out('No agents connected. Start one with BOREALIS_AGENT_IDENTIFIER=<id> pnpm exec borealis-agent.');
        return;
      }
      out(
        table(
          [
            'AGENT IDENTIFIER',
            'INSTANCE',
            'VERSION',
            'STATE',
            'CONNECTED',
            'HEARTBEAT',
            'STREAMS',
            'ADDRESS',
            'CLIENT ID',
          ],
          rows,
        ),
      );
    });

  agents
    .command('probe <agentIdentifier> <url>')
    .description(
      'make one HTTP call through an agent and show the answer (checks that it can reach a webhook target)',
    )
    .option('-X, --method <method>', 'HTTP method', 'GET')
    .action(async (agentIdentifier: string, url: string, opts: { method: string }) => {
      const answer = await apiCall<{
        status: number;
        bodyBase64: string;
        durationMs: number;
        agent: { instanceId: string };
      }>(clientConfig(), 'POST', `/api/v1/agents/${encodeURIComponent(agentIdentifier)}/probe`, {
        method: opts.method,
        url,
      });
      const text = Buffer.from(answer.bodyBase64, 'base64').toString('utf8');
      out(
        `${answer.status} in ${answer.durationMs} ms via ${agentIdentifier} (instance ${answer.agent.instanceId})`,
      );
      if (text) out(text.length > 2000 ? `${text.slice(0, 2000)}…` : text);
    });

  const creds = program.command('agent-credentials').description('credentials agents authenticate with');
  creds
    .command('create')
    .description('create a client id and secret for an agent (the secret is shown once)')
    .option('--name <name>', 'a name to recognise the credential by')
    .option('--allow-identifier <ids>', 'comma-separated agent identifiers (globs) this credential may serve')
    .option('-o, --output <format>', 'text, env or json', 'text')
    .action(async (opts: { name?: string; allowIdentifier?: string; output: string }) => {
      const body: Record<string, unknown> = {};
      if (opts.name) body.name = opts.name;
      if (opts.allowIdentifier)
        body.allowedIdentifiers = opts.allowIdentifier.split(',').map((s) => s.trim());
      const c = await apiCall<{ clientId: string; clientSecret: string; allowedIdentifiers: string[] }>(
        clientConfig(),
        'POST',
        '/api/v1/agent-credentials',
        body,
      );
      if (opts.output === 'json') out(JSON.stringify(c, null, 2));
      else if (opts.output === 'env')
        out(`BOREALIS_CLIENT_ID=${c.clientId}\nBOREALIS_CLIENT_SECRET=${c.clientSecret}`);
      else {
        out(`client id:     ${c.clientId}`);
        out(`client secret: ${c.clientSecret}`);
        out(`identifiers:   ${c.allowedIdentifiers.length ? c.allowedIdentifiers.join(', ') : 'any'}`);
        out(
          'The secret is shown only now. Give both to the agent as BOREALIS_CLIENT_ID and BOREALIS_CLIENT_SECRET.',
        );
      }
    });
}
