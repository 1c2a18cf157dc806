import type { Command } from 'commander';
import type { Cli } from './cli.js';
import { CliError } from './errors.js';
import { table } from './table.js';

/** Reads a secret's value from standard input: never from argv, where `ps` and shell history see it. */
async function readValue(stdin: NodeJS.ReadStream): Promise<string> {
  if (stdin.isTTY) {
    process.stderr.write('Value (input is not echoed; end with Enter): ');
    stdin.setRawMode?.(true);
    return new Promise((resolve) => {
      let value = '';
      const onData = (buf: Buffer) => {
        for (const ch of buf.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.setRawMode?.(false);
            stdin.off('data', onData);
            stdin.pause();
            process.stderr.write('\n');
            resolve(value);
            return;
          }
          if (ch === '\u0003') process.exit(130);
          if (ch === '\u007f') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
      stdin.resume();
    });
  }
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.from(c));
  // One trailing newline is how `echo` and files end; it is not part of the secret.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerSecretCommands(program: Command, cli: Cli): void {
  const secrets = program
    .command('secrets')
    .description('secrets used in webhook templates as {{secrets.NAME}}');
  secrets
    .command('set <name>')
    .description(
      'create or replace a secret; the value is read from standard input (e.g. `printf %s "$TOKEN" | borealis secrets set github_token`)',
    )
    .action(
      cli.run(async (ctx, name: string) => {
        ctx.format();
        const value = await readValue(process.stdin);
        if (value === '')
          throw new CliError(
            `The value is empty: pipe it on standard input, e.g. printf %s "$TOKEN" | ${cli.bin} secrets set ${name}`,
            2,
          );
        const answer = await ctx.api<{ name: string; updatedAt: string }>(
          'PUT',
          `/api/v1/secrets/${encodeURIComponent(name)}`,
          { value },
        );
        ctx.print(answer, (a) => `secret ${a.name} saved (use it as {{secrets.${a.name}}})`);
      }),
    );
  secrets
    .command('list')
    .description('list secret names and dates (values are never shown)')
    .action(
      cli.run(async (ctx) => {
        ctx.format();
        const answer = await ctx.api<{
          secrets: Array<{ name: string; createdAt: string; updatedAt: string }>;
        }>('GET', '/api/v1/secrets');
        ctx.print(answer, (a) =>
          a.secrets.length === 0
            ? `No secrets. Add one with: printf %s "$VALUE" | ${cli.bin} secrets set NAME`
            : table(
                ['NAME', 'CREATED', 'UPDATED'],
                a.secrets.map((s) => [s.name, s.createdAt, s.updatedAt]),
              ),
        );
      }),
    );
  secrets
    .command('delete <name>')
    .description('delete a secret (webhooks that use it fail to render until it is set again)')
    .action(
      cli.run(async (ctx, name: string) => {
        ctx.format();
        await ctx.api('DELETE', `/api/v1/secrets/${encodeURIComponent(name)}`);
        ctx.print({ name, deleted: true }, () => `secret ${name} deleted`);
      }),
    );
}
