// First: V8 settings that must be in place before any module loads (see v8-flags.ts).
import './v8-flags.js';
import { answerProgramArgs } from '@borealis/protocol';
import { startAgent } from './agent.js';
import { agentOptionsFromEnv } from './agent-options.js';
import { AgentError } from './errors.js';
import { AGENT_HELP, AGENT_VERSION, parseAgentArgs } from './program-args.js';

/**
 * `borealis-agent`: environment → options → agent. Exit codes: 0 after a drain (SIGTERM/SIGINT),
 * 2 for a configuration error (message on stderr), 1 for anything else that stops it.
 */
async function main(): Promise<void> {
  const args = parseAgentArgs(process.argv.slice(2));
  if (!answerProgramArgs('borealis-agent', args, { help: AGENT_HELP, version: AGENT_VERSION })) return;
  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    agent = await startAgent(agentOptionsFromEnv(process.env));
  } catch (err) {
    if (err instanceof AgentError) {
      process.stderr.write(`borealis-agent: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    throw err;
  }

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // A second signal means "now": the operator gave up on the drain.
      process.stderr.write(`borealis-agent: ${signal} again, exiting without finishing the drain\n`);
      process.exit(1);
    }
    signalled = true;
    agent.drain().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`borealis-agent: drain failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `borealis-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
