import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type Cli, offline } from './cli.js';
import { configPath, readConfigFile, writeConfigFile } from './cli-config.js';
import { CliError } from './errors.js';
import { table } from './table.js';

const CONFIG_ENV = [
  'BOREALIS_CONFIG     the config file (default: $XDG_CONFIG_HOME/borealis/config, else ~/.config/borealis/config)',
];

/** `config …`: named contexts (URL and token) in a file, like kubectl's. */
export function registerConfigCommands(program: Command, cli: Cli): void {
  const config = program
    .command('config')
    .description('named contexts (control-plane URL and token) in the CLI config file');

  offline(
    config
      .command('set-context <name>')
      .description(
        "create or update a context: --url, and --token-file (e.g. the server's <data dir>/api-token) or --token; the first one becomes current",
      )
      .option('--token-file <file>', 'a file holding the API token (stored as an absolute path)')
      .option('--use', 'also make it the current context')
      .action(
        cli.run((ctx, name: string) => {
          const path = configPath(cli.env);
          const file = readConfigFile(path);
          const entry = { ...(file.contexts[name] ?? {}) };
          const tokenFile = ctx.opts.tokenFile as string | undefined;
          if (tokenFile && ctx.opts.token) throw new CliError('Give --token or --token-file, not both', 2);
          if (ctx.opts.url) {
            try {
              new URL(ctx.opts.url);
            } catch {
              throw new CliError(
                `--url ${ctx.opts.url} is not a URL; give one such as http://127.0.0.1:8080`,
                2,
              );
            }
            entry.url = ctx.opts.url.replace(/\/+$/, '');
          }
          if (tokenFile) {
            entry.tokenFile = resolve(cli.cwd, tokenFile);
            delete entry.token;
            if (!existsSync(entry.tokenFile))
              process.stderr.write(`warning: ${entry.tokenFile} does not exist (yet)\n`);
          }
          if (ctx.opts.token) {
            entry.token = ctx.opts.token;
            delete entry.tokenFile;
          }
          if (!entry.url && !entry.token && !entry.tokenFile)
            throw new CliError(
              `Context ${name} would be empty: give --url and --token-file or --token, e.g. ${cli.bin} config set-context ${name} --url http://127.0.0.1:8080 --token-file ./.borealis/api-token`,
              2,
            );
          file.contexts[name] = entry;
          const makeCurrent = ctx.opts.use === true || !file.currentContext;
          if (makeCurrent) file.currentContext = name;
          writeConfigFile(path, file);
          ctx.out(`Context ${name} saved in ${path}${makeCurrent ? ' (current)' : ''}`);
        }),
      ),
    CONFIG_ENV,
  );

  offline(
    config
      .command('use-context <name>')
      .description('make a context the current one')
      .action(
        cli.run((ctx, name: string) => {
          const path = configPath(cli.env);
          const file = readConfigFile(path);
          if (!file.contexts[name]) {
            const known = Object.keys(file.contexts);
            throw new CliError(
              `No context ${name} in ${path}; ${known.length ? `known: ${known.join(', ')}` : 'none is defined'}. Create it with ${cli.bin} config set-context ${name} --url URL --token-file FILE`,
              2,
            );
          }
          file.currentContext = name;
          writeConfigFile(path, file);
          ctx.out(`Current context: ${name}`);
        }),
      ),
    CONFIG_ENV,
  );

  offline(
    config
      .command('get-contexts')
      .description('list the contexts (tokens are never printed)')
      .action(
        cli.run((ctx) => {
          const path = configPath(cli.env);
          const file = readConfigFile(path);
          const contexts = Object.entries(file.contexts).map(([name, e]) => ({
            name,
            current: name === file.currentContext,
            url: e.url ?? null,
            token: e.tokenFile ? `file ${e.tokenFile}` : e.token ? 'in the config file' : null,
          }));
          ctx.print({ configFile: path, currentContext: file.currentContext ?? null, contexts }, (d) =>
            d.contexts.length
              ? table(
                  ['CURRENT', 'NAME', 'URL', 'TOKEN'],
                  d.contexts.map((c) => [c.current ? '*' : '', c.name, c.url ?? '-', c.token ?? '-']),
                )
              : `No contexts in ${path}. Add one with: ${cli.bin} config set-context NAME --url URL --token-file FILE`,
          );
        }),
      ),
    CONFIG_ENV,
  );

  offline(
    config
      .command('delete-context <name>')
      .description('remove a context')
      .action(
        cli.run((ctx, name: string) => {
          const path = configPath(cli.env);
          const file = readConfigFile(path);
          if (!file.contexts[name]) throw new CliError(`No context ${name} in ${path}`, 2);
          delete file.contexts[name];
          if (file.currentContext === name) delete file.currentContext;
          writeConfigFile(path, file);
          ctx.out(`Context ${name} deleted`);
        }),
      ),
    CONFIG_ENV,
  );

  config
    .command('show')
    .description(
      'which URL and token this command line would use, and where each comes from (no call is made)',
    )
    .action(
      cli.run((ctx) => {
        const c = ctx.client();
        ctx.print(
          {
            url: c.url,
            urlFrom: c.urlSource,
            tokenFrom: c.tokenSource,
            context: c.context ?? null,
            configFile: c.configFile,
          },
          (d) =>
            [
              `url:         ${d.url}  (from ${d.urlFrom})`,
              `token:       ${d.tokenFrom === 'none' ? 'none found' : `from ${d.tokenFrom}`}`,
              `context:     ${d.context ?? '-'}`,
              `config file: ${d.configFile}`,
            ].join('\n'),
        );
      }),
    );
}
