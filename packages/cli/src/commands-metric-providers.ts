import type { MetricProviderAnswer } from '@borealis/deploy-spec';
import type { Command } from 'commander';
import type { Cli } from './cli.js';
import { CliError } from './client.js';
import { table } from './table.js';

const collect = (value: string, previous: string[]) => [...previous, value];
const path = (name: string) => `/api/v1/metric-providers/${encodeURIComponent(name)}`;
const route = (p: MetricProviderAnswer) =>
  p.networkMode === 'direct' ? 'direct' : `agent ${p.agentIdentifier ?? "(the target's account)"}`;

function rawArgs(program: Command): string[] {
  return (program as unknown as { rawArgs: string[] }).rawArgs ?? [];
}

/** Which `--url` is whose: before `metric-providers` the control plane's, after it the provider's. */
export function splitUrls(args: readonly string[]): { controlPlane?: string; provider?: string } {
  const at = args.indexOf('metric-providers');
  const out: { controlPlane?: string; provider?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    let value: string | undefined;
    if (arg === '--url') value = args[++i];
    else if (arg.startsWith('--url=')) value = arg.slice('--url='.length);
    else continue;
    if (at >= 0 && i > at) out.provider = value;
    else out.controlPlane = value;
  }
  return out;
}

export function registerMetricProviderCommands(program: Command, cli: Cli): void {
  const mp = program
    .command('metric-providers')
    .description('where analysis queries go (Prometheus, web), directly or through an agent');

  mp.command('set <name>')
    .description('create or replace a metric provider')
    .requiredOption('--type <type>', 'prometheus or web')
    .option('--url <url>', "the provider's base URL, e.g. http://prometheus.internal:9090 (required)")
    .option('--agent <id>', 'reach it through this Remote Network Agent (networkMode remoteNetworkAgent)')
    .option(
      '--header <k=v>',
      "a header sent with every query; values may use secrets: 'Authorization=Bearer {{secrets.prom_token}}' (repeatable)",
      collect,
      [],
    )
    .option('--json-path <path>', 'web: where the number is in the JSON answer, e.g. $.data.value')
    .option('--timeout <seconds>', 'how long one query may take (default 30)')
    .action(
      cli.run(async (ctx, name: string) => {
        ctx.format();
        // `--url` after the command is the provider's; the control plane's is a `--url` written
        // before it (`borealis --url CP metric-providers set ...`), BOREALIS_URL or the context.
        // (Global flags are read anywhere, so the split is made on the words as typed.)
        const urls = splitUrls(program.args.length ? rawArgs(program) : []);
        if (urls.controlPlane === undefined) delete ctx.opts.url;
        else ctx.opts.url = urls.controlPlane;
        if (!urls.provider)
          throw new CliError(
            `--url is required: the provider's base URL, e.g. ${cli.bin} metric-providers set ${name} --type prometheus --url http://prometheus.internal:9090`,
            2,
          );
        const opts = { ...(ctx.command.opts() as object), url: urls.provider } as {
          type: string;
          url: string;
          agent?: string;
          header: string[];
          jsonPath?: string;
          timeout?: string;
        };
        const headers = opts.header.map((kv) => {
          const i = kv.indexOf('=');
          if (i <= 0) throw new CliError(`--header ${kv}: expected KEY=VALUE`, 2);
          return { key: kv.slice(0, i), value: kv.slice(i + 1) };
        });
        let timeoutSeconds: number | undefined;
        if (opts.timeout !== undefined) {
          timeoutSeconds = Number(opts.timeout);
          if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1)
            throw new CliError(`--timeout ${opts.timeout}: expected a whole number of seconds`, 2);
        }
        const p = await ctx.api<MetricProviderAnswer>('PUT', path(name), {
          type: opts.type,
          baseUrl: opts.url,
          networkMode: opts.agent ? 'remoteNetworkAgent' : 'direct',
          ...(opts.agent ? { agentIdentifier: opts.agent } : {}),
          headers,
          ...(opts.jsonPath ? { jsonPath: opts.jsonPath } : {}),
          ...(timeoutSeconds ? { timeoutSeconds } : {}),
        });
        ctx.print(p, (v) =>
          [
            `metric provider ${v.name} saved: ${v.type} at ${v.baseUrl}, ${route(v)}`,
            ...(v.warnings ?? []).map((w) => `warning: ${w}`),
          ].join('\n'),
        );
      }),
    );

  mp.command('list')
    .description('list metric providers (header values as written; secret values are never shown)')
    .action(
      cli.run(async (ctx) => {
        ctx.format();
        const answer = await ctx.api<{ metricProviders: MetricProviderAnswer[] }>(
          'GET',
          '/api/v1/metric-providers',
        );
        ctx.print(answer, (a) =>
          a.metricProviders.length === 0
            ? `No metric providers. Add one with: ${cli.bin} metric-providers set NAME --type prometheus --url URL`
            : table(
                ['NAME', 'TYPE', 'URL', 'ROUTE', 'HEADERS', 'UPDATED'],
                a.metricProviders.map((p) => [
                  p.name,
                  p.type,
                  p.baseUrl,
                  route(p),
                  p.headers.map((h) => h.key).join(',') || '-',
                  p.updatedAt,
                ]),
              ),
        );
      }),
    );

  mp.command('delete <name>')
    .description('delete a metric provider (deployments that name it are refused at start)')
    .action(
      cli.run(async (ctx, name: string) => {
        ctx.format();
        await ctx.api('DELETE', path(name));
        ctx.print({ name, deleted: true }, () => `metric provider ${name} deleted`);
      }),
    );

  mp.command('test <name>')
    .description(
      'run one query now, through the agent when the provider uses one; prints the value or the error',
    )
    .requiredOption('-q, --query <query>', 'the query, e.g. sum(up)')
    .option('--agent <id>', 'the agent to use when the provider names none')
    .action(
      cli.run(async (ctx, name: string) => {
        ctx.format();
        const opts = ctx.command.opts() as { query: string; agent?: string };
        const r = await ctx.api<{ value: number; via?: string; url: string; provider: string }>(
          'POST',
          `${path(name)}/test`,
          { query: opts.query, ...(opts.agent ? { agentIdentifier: opts.agent } : {}) },
        );
        ctx.print(r, (v) => `${v.value}\t(${v.provider}${v.via ? ` via ${v.via}` : ', direct'})`);
      }),
    );
}
