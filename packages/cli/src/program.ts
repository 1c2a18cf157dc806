import { Command, Option } from 'commander';
import { addEnvironmentHelp, CLI_VERSION, createCli, OUTPUT_FORMATS } from './cli.js';
import type { Env } from './cli-config.js';
import { registerAgentCommands } from './commands-agents.js';
import { registerAuditCommand } from './commands-audit.js';
import { registerCompletionCommand } from './commands-completion.js';
import { registerConfigCommands } from './commands-config.js';
import { registerDeployCommands } from './commands-deploy.js';
import { registerHistoryCommand } from './commands-history.js';
import { registerInitCommand } from './commands-init.js';
import { registerMetricProviderCommands } from './commands-metric-providers.js';
import { registerSecretCommands } from './commands-secrets.js';
import { registerTokenCommands } from './commands-tokens.js';

export interface BuildProgramOptions {
  env?: Env;
  cwd?: string;
  /** The name hints print; default: how this process was started (see `invokedAs`). */
  bin?: string;
}

/**
 * The `borealis` command tree. Global flags (`--url`, `--token`, `-o`) are declared here once and
 * accepted before or after any subcommand; each `register…Commands` adds one group.
 */
export function buildProgram(out: (s: string) => void, options: BuildProgramOptions = {}): Command {
  const cli = createCli({ out, ...options });
  const program = new Command('borealis')
    .name(cli.bin)
    .description('Borealis: deployments gated on webhooks, through Remote Network Agents when needed')
    .version(`borealis ${CLI_VERSION}`, '-V, --version', 'print the version')
    .configureHelp({ showGlobalOptions: true })
    .option('--url <url>', "the control plane's URL (overrides BOREALIS_URL and the context)")
    .option('--token <token>', 'the API token (overrides BOREALIS_API_TOKEN and the context)')
    .addOption(
      new Option('-o, --output <format>', `output format: ${OUTPUT_FORMATS.join(', ')}`).default('table'),
    )
    .showHelpAfterError()
    .exitOverride((err) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
      if (err.code === 'commander.help') process.exit(0);
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  registerAgentCommands(program, cli);
  registerDeployCommands(program, cli);
  registerMetricProviderCommands(program, cli);
  registerSecretCommands(program, cli);
  registerTokenCommands(program, cli);
  registerAuditCommand(program, cli);
  registerConfigCommands(program, cli);
  registerHistoryCommand(program, cli);
  registerInitCommand(program, cli);
  // Last: it reads the whole command tree.
  registerCompletionCommand(program, cli);
  addEnvironmentHelp(program, cli.env);
  return program;
}
