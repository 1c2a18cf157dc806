import type { ApplicationHistory } from '@borealis/deploy-spec';
import type { Command } from 'commander';
import type { Cli } from './cli.js';
import { ago, table } from './table.js';
import { oneLine } from './terminal-text.js';

/** `history APP [--env E]`: the revisions of an application per environment. */
export function registerHistoryCommand(program: Command, cli: Cli): void {
  program
    .command('history <application>')
    .description(
      'the revisions of an application per environment: version, deployment, when, started and approved by whom (* marks what runs now)',
    )
    .option('-e, --env <environment>', 'only this environment')
    .action(
      cli.run(async (ctx, application: string) => {
        ctx.format();
        const env = ctx.opts.env as string | undefined;
        const answer = await ctx.api<ApplicationHistory>(
          'GET',
          `/api/v1/applications/${encodeURIComponent(application)}/history${env ? `?environment=${encodeURIComponent(env)}` : ''}`,
        );
        ctx.print(answer, (h) =>
          [
            ...h.environments.flatMap((e) => [
              `${oneLine(e.name)}:`,
              table(
                ['  REV', 'VERSION', 'DEPLOYMENT', 'DEPLOYED', 'STARTED BY', 'APPROVED BY', 'NOTE'],
                [...e.revisions]
                  .reverse()
                  .map((r) => [
                    `  ${r.revision === e.current ? '*' : ' '}${r.revision}`,
                    oneLine(r.version),
                    r.deploymentId.slice(0, 8),
                    ago(r.deployedAt),
                    oneLine(r.startedBy),
                    r.approvedBy.map(oneLine).join(', ') || '-',
                    r.rollbackOf ? `rollback to ${r.rollbackOf.revision}` : '',
                  ]),
              ),
              '',
            ]),
            `Roll back: ${cli.bin} deploy rollback ${oneLine(h.application)} --env <environment> [--to <revision>]`,
          ].join('\n'),
        );
      }),
    );
}
