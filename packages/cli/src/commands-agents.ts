import type { Command } from 'commander';
import type { Cli } from './cli.js';
import { ago, table } from './table.js';
import { oneLine } from './terminal-text.js';

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

export function registerAgentCommands(program: Command, cli: Cli): void {
  const agents = program
    .command('agents')
    .description('Remote Network Agents connected to the control plane');
  agents
    .command('list')
    .description('list connected agents, one line per connection')
    .action(
      cli.run(async (ctx) => {
        ctx.format();
        const answer = await ctx.api<AgentsAnswer>('GET', '/api/v1/agents');
        ctx.print(answer, (a) => {
          const rows = a.agents.flatMap((g) =>
            g.connections.map((c) =>
              [
                g.agentIdentifier,
                c.instanceId.slice(0, 12),
                c.version,
                c.draining ? 'draining' : 'connected',
                ago(c.connectedAt),
                ago(c.lastHeartbeatAt),
                String(c.streamsInFlight),
                c.remoteAddress,
                c.clientId,
              ].map(oneLine),
            ),
          );
          if (rows.length === 0)
            return 'No agents connected. Start one with BOREALIS_AGENT_IDENTIFIER=<id> borealis-agent (see agent-credentials create).';
          return table(
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
          );
        });
      }),
    );

  agents
    .command('probe <agentIdentifier> <url>')
    .description(
      'make one HTTP call through an agent and show the answer (checks that it can reach a webhook target)',
    )
    .option('-X, --method <method>', 'HTTP method', 'GET')
    .action(
      cli.run(async (ctx, agentIdentifier: string, url: string) => {
        ctx.format();
        const answer = await ctx.api<{
          status: number;
          bodyBase64: string;
          durationMs: number;
          agent: { instanceId: string };
        }>('POST', `/api/v1/agents/${encodeURIComponent(agentIdentifier)}/probe`, {
          method: ctx.opts.method,
          url,
        });
        ctx.print(answer, (a) => {
          const text = Buffer.from(a.bodyBase64, 'base64').toString('utf8');
          const head = `${oneLine(a.status)} in ${oneLine(a.durationMs)} ms via ${oneLine(agentIdentifier)} (instance ${oneLine(a.agent.instanceId)})`;
          return text ? `${head}\n${text.length > 2000 ? `${text.slice(0, 2000)}…` : text}` : head;
        });
      }),
    );

  const creds = program.command('agent-credentials').description('credentials agents authenticate with');
  creds
    .command('create')
    .description(
      'create a client id and secret for an agent (the secret is shown once; -o env prints BOREALIS_CLIENT_ID=… lines)',
    )
    .option('--name <name>', 'a name to recognise the credential by')
    .option('--allow-identifier <ids>', 'comma-separated agent identifiers (globs) this credential may serve')
    .action(
      cli.run(async (ctx) => {
        const format = ctx.format(['table', 'json', 'yaml', 'env']);
        const body: Record<string, unknown> = {};
        if (ctx.opts.name) body.name = ctx.opts.name;
        if (typeof ctx.opts.allowIdentifier === 'string')
          body.allowedIdentifiers = ctx.opts.allowIdentifier.split(',').map((s) => s.trim());
        const c = await ctx.api<{ clientId: string; clientSecret: string; allowedIdentifiers: string[] }>(
          'POST',
          '/api/v1/agent-credentials',
          body,
        );
        if (format === 'env') {
          ctx.out(`BOREALIS_CLIENT_ID=${c.clientId}\nBOREALIS_CLIENT_SECRET=${c.clientSecret}`);
          return;
        }
        ctx.print(c, (v) =>
          [
            `client id:     ${v.clientId}`,
            `client secret: ${v.clientSecret}`,
            `identifiers:   ${v.allowedIdentifiers.length ? v.allowedIdentifiers.join(', ') : 'any'}`,
            'The secret is shown only now. Give both to the agent as BOREALIS_CLIENT_ID and BOREALIS_CLIENT_SECRET.',
          ].join('\n'),
        );
      }),
    );
}
