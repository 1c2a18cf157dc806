import { CliError } from './client.js';
import { buildProgram } from './program.js';

const program = buildProgram((s) => process.stdout.write(`${s}\n`));
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`borealis: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`borealis: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
