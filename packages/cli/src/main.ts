import { CliError } from './errors.js';
import { buildProgram } from './program.js';
import { terminalSafe } from './terminal-text.js';

// `borealis … | head`: the reader went away. Stop quietly, as other command-line tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

// Everything the CLI prints passes here: text from outside can never drive the terminal.
const program = buildProgram((s) => process.stdout.write(`${terminalSafe(s)}\n`));
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`borealis: ${terminalSafe(err.message)}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`borealis: ${terminalSafe(err instanceof Error ? err.message : String(err))}\n`);
  process.exit(1);
});
