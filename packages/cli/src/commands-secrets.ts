import type { Command } from 'commander';
import { apiCall, CliError, clientConfig } from './client.js';
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

export function registerSecretCommands(program: Command, out: (s: string) => void): void {
  const secrets = program
    .command('secrets')
    .description('secrets used in webhook templates as {{secrets.NAME}}');
  secrets
    .command('set <name>')
    .description(
      'create or replace a secret; the value is read from standard input (e.g. `printf %s "$TOKEN" | borealis secrets set github_token`)',
    )
    .action(async (name: string) => {
      const value = await readValue(process.stdin);
      if (value === '')
        throw new CliError(
          'The value is empty: pipe it on standard input, e.g. printf %s "$TOKEN" | borealis secrets set NAME',
          2,
        );
      const answer = await apiCall<{ name: string; updatedAt: string }>(
        clientConfig(),
        'PUT',
        `/api/v1/secrets/${encodeURIComponent(name)}`,
        { value },
      );
      out(`secret ${answer.name} saved (use it as {{secrets.${answer.name}}})`);
    });
  secrets
    .command('list')
    .description('list secret names and dates (values are never shown)')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (opts: { output: string }) => {
      const answer = await apiCall<{
        secrets: Array<{ name: string; createdAt: string; updatedAt: string }>;
      }>(clientConfig(), 'GET', '/api/v1/secrets');
      if (opts.output === 'json') {
        out(JSON.stringify(answer, null, 2));
        return;
      }
      if (answer.secrets.length === 0) {
        out('No secrets. Add one with: printf %s "$VALUE" | borealis secrets set NAME');
        return;
      }
      out(
        table(
          ['NAME', 'CREATED', 'UPDATED'],
          answer.secrets.map((s) => [s.name, s.createdAt, s.updatedAt]),
        ),
      );
    });
}
