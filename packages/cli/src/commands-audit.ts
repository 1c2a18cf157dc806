import type { AuditEntryView } from '@borealis/deploy-spec';
import type { Command } from 'commander';
import type { Cli } from './cli.js';
import { table } from './table.js';
import { oneLine } from './terminal-text.js';

/** `borealis audit`: who did what, when, from where and why (newest first). */
export function registerAuditCommand(program: Command, cli: Cli): void {
  program
    .command('audit')
    .description(
      'the audit log: decisions and admin changes with who, when, what, environment, source and reason',
    )
    .option('--deployment <id>', "only this deployment's entries")
    .option('--actor <name>', "only this token name's entries")
    .option('--since <when>', 'an ISO time (2026-12-02T09:00:00Z) or a span back from now (30m, 24h, 7d)')
    .option('--limit <n>', 'at most this many entries (1..1000, default 100)')
    .action(
      cli.run(async (ctx) => {
        ctx.format();
        const query = new URLSearchParams();
        for (const [flag, param] of [
          ['deployment', 'deploymentId'],
          ['actor', 'actor'],
          ['since', 'since'],
          ['limit', 'limit'],
        ] as const) {
          const value = ctx.opts[flag];
          if (typeof value === 'string') query.set(param, value);
        }
        const q = query.toString();
        const answer = await ctx.api<{ entries: AuditEntryView[] }>(
          'GET',
          `/api/v1/audit${q ? `?${q}` : ''}`,
        );
        ctx.print(answer, (a) =>
          a.entries.length === 0
            ? 'No audit entries match.'
            : table(
                ['WHEN', 'WHO', 'WHAT', 'DEPLOYMENT', 'ENVIRONMENT', 'FROM', 'WHY / DETAILS'],
                a.entries.map((e) => [
                  oneLine(e.at),
                  oneLine(e.actor),
                  oneLine(e.action),
                  e.deploymentId ? oneLine(e.deploymentId) : '-',
                  e.environment ? oneLine(e.environment) : '-',
                  e.source ? oneLine(e.source) : '-',
                  oneLine(
                    [e.reason, Object.keys(e.details).length ? JSON.stringify(e.details) : '']
                      .filter(Boolean)
                      .join('  '),
                  ),
                ]),
              ),
        );
      }),
    );
}
