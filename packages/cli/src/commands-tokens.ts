import type { Command } from 'commander';
import type { Cli } from './cli.js';
import { CliError } from './errors.js';
import { table } from './table.js';
import { oneLine } from './terminal-text.js';

interface TokenView {
  id: string;
  name: string;
  roles: string[];
  createdAt: string;
}

/** `borealis tokens create NAME --role R`, `tokens list`, `tokens revoke ID` (admin only). */
export function registerTokenCommands(program: Command, cli: Cli): void {
  const tokens = program
    .command('tokens')
    .description("people's API tokens and their roles (admin, deployer, viewer, or approver roles)");

  tokens
    .command('create <name>')
    .description('create a token for one person (shown once; stored hashed)')
    .option(
      '-r, --role <role>',
      'a role: admin, deployer, viewer, or an approver role a pause requiresRoles names (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(
      cli.run(async (ctx, name: string) => {
        ctx.format();
        const roles = ctx.opts.role as string[];
        if (roles.length === 0)
          throw new CliError(
            `Give the token at least one role, e.g. ${cli.bin} tokens create ${oneLine(name)} --role viewer (read), --role deployer (start, cancel, roll back), --role admin, or an approver role such as --role prod-approvers`,
            2,
          );
        const created = await ctx.api<TokenView & { token: string }>('POST', '/api/v1/tokens', {
          name,
          roles,
        });
        ctx.print(created, (c) =>
          [
            `id:    ${oneLine(c.id)}`,
            `name:  ${oneLine(c.name)}`,
            `roles: ${c.roles.map(oneLine).join(', ')}`,
            `token: ${oneLine(c.token)}`,
            'The token is shown only now. Give it to its owner (BOREALIS_API_TOKEN, or --token).',
          ].join('\n'),
        );
      }),
    );

  tokens
    .command('list')
    .description('list tokens: id, name, roles (never the tokens themselves)')
    .action(
      cli.run(async (ctx) => {
        ctx.format();
        const answer = await ctx.api<{ tokens: TokenView[]; note?: string }>('GET', '/api/v1/tokens');
        ctx.print(answer, (a) =>
          [
            table(
              ['ID', 'NAME', 'ROLES', 'CREATED'],
              a.tokens.map((t) => [
                oneLine(t.id),
                oneLine(t.name),
                t.roles.map(oneLine).join(','),
                oneLine(t.createdAt),
              ]),
            ),
            ...(a.note ? [oneLine(a.note)] : []),
          ].join('\n'),
        );
      }),
    );

  tokens
    .command('revoke <id>')
    .description('revoke a token at once (its next request is refused); a unique prefix of the id will do')
    .action(
      cli.run(async (ctx, idOrPrefix: string) => {
        ctx.format();
        const { tokens: all } = await ctx.api<{ tokens: TokenView[] }>('GET', '/api/v1/tokens');
        const exact = all.find((t) => t.id === idOrPrefix);
        const matches = all.filter((t) => t.id.startsWith(idOrPrefix));
        const target = exact ?? (matches.length === 1 ? matches[0] : undefined);
        if (!target) {
          throw new CliError(
            matches.length > 1
              ? `${oneLine(idOrPrefix)} matches ${matches.length} tokens (${matches.map((t) => oneLine(t.id)).join(', ')}); give more of the id`
              : `No active token with id ${oneLine(idOrPrefix)}; ${cli.bin} tokens list shows them`,
          );
        }
        await ctx.api('DELETE', `/api/v1/tokens/${encodeURIComponent(target.id)}`);
        ctx.print(
          { id: target.id, name: target.name, revoked: true },
          () => `token ${oneLine(target.id)} (${oneLine(target.name)}) revoked`,
        );
      }),
    );
}
