import { Command } from 'commander';
import { registerAgentCommands } from './commands-agents.js';
import { registerDeployCommands } from './commands-deploy.js';
import { registerSecretCommands } from './commands-secrets.js';

export function buildProgram(out: (s: string) => void): Command {
  const program = new Command('borealis')
    .description('Borealis: deployments gated on webhooks, through Remote Network Agents when needed')
    .showHelpAfterError()
    .exitOverride((err) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  registerAgentCommands(program, out);
  registerDeployCommands(program, out);
  registerSecretCommands(program, out);
  return program;
}
