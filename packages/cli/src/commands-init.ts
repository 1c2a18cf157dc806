import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDeployFile } from '@borealis/deploy-spec';
import type { Command } from 'commander';
import { type Cli, offline } from './cli.js';
import { CliError } from './errors.js';
import { starterDeployFile } from './starter-deploy-file.js';

/** `init`: a commented starter deploy file. */
export function registerInitCommand(program: Command, cli: Cli): void {
  offline(
    program
      .command('init')
      .description(
        'write a commented starter deploy file (two environments, a webhook that calls back, an approval)',
      )
      .option('-f, --file <file>', 'where to write it (- for standard output)', 'deploy.yml')
      .option('-a, --application <name>', 'the application name', 'my-app')
      .option('--force', 'overwrite the file if it exists')
      .action(
        cli.run((ctx) => {
          const application = String(ctx.opts.application);
          if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(application))
            throw new CliError(
              `--application ${application}: use lowercase letters, digits and - (it names Kubernetes objects too)`,
              2,
            );
          const text = starterDeployFile(application, cli.bin);
          // It must validate as written; a starter that does not is a bug here, not the user's.
          const errors = parseDeployFile(text).diagnostics.filter((d) => d.severity === 'error');
          if (errors.length)
            throw new CliError(`internal: the starter file does not validate: ${errors[0]?.message}`);
          const file = String(ctx.opts.file);
          if (file === '-') {
            ctx.out(text.trimEnd());
            return;
          }
          const path = resolve(cli.cwd, file);
          if (existsSync(path) && !ctx.opts.force)
            throw new CliError(`${file} exists; pick another name with -f, or --force to overwrite it`, 2);
          writeFileSync(path, text);
          ctx.out(`Wrote ${file}. Next:`);
          ctx.out(`  ${cli.bin} deploy validate -f ${file}`);
          ctx.out(`  printf %s "$CI_TOKEN" | ${cli.bin} secrets set ci_token`);
          ctx.out(`  ${cli.bin} deploy start -f ${file} --watch`);
        }),
      ),
  );
}
