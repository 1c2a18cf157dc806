import type { Command } from 'commander';
import type { Cli, RunContext } from './cli.js';
import { CliError } from './errors.js';
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
      credentialName?: string;
      wildcard?: boolean;
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
                c.wildcard ? 'WILDCARD' : '-',
              ].map(oneLine),
            ),
          );
          if (rows.length === 0)
            return 'No agents connected. Start one with BOREALIS_AGENT_IDENTIFIER=<id> borealis-agent (see agent-credentials create).';
          const grid = table(
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
              'CREDENTIAL',
            ],
            rows,
          );
          const note = a.agents.some((g) => g.connections.some((c) => c.wildcard))
            ? `\nWILDCARD: that connection's credential allows identifiers by a "*" pattern, not one by one; narrow it with: ${ctx.bin} agent-credentials set-identifiers CLIENT_ID --identifier ID`
            : '';
          return `${grid}${note}`;
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

  registerAgentCredentialCommands(program, cli);
}

interface CredentialAnswer {
  clientId: string;
  name: string;
  allowedIdentifiers: string[];
  wildcard: boolean;
  createdAt: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function identifiersText(c: { allowedIdentifiers: string[]; wildcard: boolean }): string {
  if (c.allowedIdentifiers.length === 0)
    return 'none (created before identifiers were required: cannot connect)';
  return `${c.allowedIdentifiers.join(', ')}${c.wildcard ? '  [wildcard]' : ''}`;
}

/** An active credential's client id from the whole id or a unique prefix of it. */
async function resolveClientId(ctx: RunContext, given: string): Promise<string> {
  const { credentials } = await ctx.api<{ credentials: CredentialAnswer[] }>(
    'GET',
    '/api/v1/agent-credentials',
  );
  if (credentials.some((c) => c.clientId === given)) return given;
  const matches = credentials.filter((c) => c.clientId.startsWith(given));
  if (matches.length === 1 && matches[0]) return matches[0].clientId;
  if (matches.length > 1) {
    throw new CliError(
      `"${given}" is the start of ${matches.length} credentials (${matches.map((c) => c.clientId).join(', ')}); give more of the client id`,
      2,
    );
  }
  throw new CliError(
    `No active agent credential "${given}"; \`${ctx.bin} agent-credentials list\` shows them (revoked ones are gone)`,
    1,
  );
}

function registerAgentCredentialCommands(program: Command, cli: Cli): void {
  const creds = program.command('agent-credentials').description('credentials agents authenticate with');
  creds
    .command('create')
    .description(
      'create a client id and secret for an agent (the secret is shown once; -o env prints BOREALIS_CLIENT_ID=… lines)',
    )
    .option('--name <name>', 'a name to recognise the credential by')
    .option(
      '--identifier <id>',
      'an agent identifier this credential may serve (repeatable; a glob such as prod-*, or "*" for any)',
      collect,
    )
    .action(
      cli.run(async (ctx) => {
        const format = ctx.format(['table', 'json', 'yaml', 'env']);
        const identifiers = (ctx.opts.identifier as string[] | undefined) ?? [];
        if (identifiers.length === 0) {
          throw new CliError(
            'Name the agent identifiers this credential may serve: --identifier prod-eu (repeatable; a glob such as prod-*, or --identifier "*" for any identifier)',
            2,
          );
        }
        const body: Record<string, unknown> = { allowedIdentifiers: identifiers };
        if (ctx.opts.name) body.name = ctx.opts.name;
        const c = await ctx.api<CredentialAnswer & { clientSecret: string }>(
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
            `identifiers:   ${identifiersText(v)}`,
            'The secret is shown only now. Give both to the agent as BOREALIS_CLIENT_ID and BOREALIS_CLIENT_SECRET.',
          ].join('\n'),
        );
      }),
    );

  creds
    .command('list')
    .description('list active agent credentials (never their secrets)')
    .action(
      cli.run(async (ctx) => {
        ctx.format();
        const answer = await ctx.api<{ credentials: CredentialAnswer[] }>('GET', '/api/v1/agent-credentials');
        ctx.print(answer, (a) =>
          a.credentials.length === 0
            ? `No agent credentials. Create one with: ${ctx.bin} agent-credentials create --name N --identifier ID`
            : table(
                ['CLIENT ID', 'NAME', 'IDENTIFIERS', 'CREATED'],
                a.credentials.map((c) =>
                  [c.clientId, c.name, identifiersText(c), ago(c.createdAt)].map(oneLine),
                ),
              ),
        );
      }),
    );

  creds
    .command('revoke <clientId>')
    .description(
      'revoke a credential (client id or a unique prefix): its agents are disconnected on every replica and stop dialling',
    )
    .action(
      cli.run(async (ctx, given: string) => {
        ctx.format();
        const clientId = await resolveClientId(ctx, given);
        await ctx.api('DELETE', `/api/v1/agent-credentials/${encodeURIComponent(clientId)}`);
        ctx.print(
          { clientId, revoked: true },
          () => `Revoked ${clientId}; agents using it were disconnected and stop dialling.`,
        );
      }),
    );

  creds
    .command('set-identifiers <clientId>')
    .description(
      'replace the agent identifiers a credential may serve (connections it no longer covers are closed)',
    )
    .option(
      '--identifier <id>',
      'an agent identifier (repeatable; a glob such as prod-*, or "*" for any)',
      collect,
    )
    .action(
      cli.run(async (ctx, given: string) => {
        ctx.format();
        const identifiers = (ctx.opts.identifier as string[] | undefined) ?? [];
        if (identifiers.length === 0) throw new CliError('Give at least one --identifier (repeatable)', 2);
        const clientId = await resolveClientId(ctx, given);
        const c = await ctx.api<CredentialAnswer>(
          'PUT',
          `/api/v1/agent-credentials/${encodeURIComponent(clientId)}/allowed-identifiers`,
          { allowedIdentifiers: identifiers },
        );
        ctx.print(c, (v) => oneLine(`${v.clientId} (${v.name}) may now serve: ${identifiersText(v)}`));
      }),
    );
}
