import { CliError } from './errors.js';
import { buildProgram } from './program.js';

// `borealis … | head`: the reader went away. Stop quietly, as other command-line tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

const program = buildProgram((s) => process.stdout.write(`${s}\n`));
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`borealis: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`borealis: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
