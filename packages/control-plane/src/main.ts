import { answerProgramArgs } from '@borealis/protocol';
import { controlPlaneOptionsFromEnv } from './control-plane-options.js';
import { isBorealisError } from './errors.js';
import { parseServerArgs, SERVER_HELP, SERVER_VERSION } from './program-args.js';
import { createControlPlane } from './server.js';

/** `borealis-server`: the control plane, configured by BOREALIS_* environment variables. */
async function main(): Promise<void> {
  const args = parseServerArgs(process.argv.slice(2));
  if (!answerProgramArgs('borealis-server', args, { help: SERVER_HELP, version: SERVER_VERSION })) return;
  const cp = await createControlPlane(controlPlaneOptionsFromEnv());
  await cp.listen();
  // One line for people (the JSON log has the same as `listening`).
  process.stderr.write(
    `borealis-server: listening on ${cp.url}${cp.tokenFile ? `; API token in ${cp.tokenFile}` : ''}\n`,
  );
  // The CLI can then be used from any folder.
  if (cp.tokenFile)
    process.stderr.write(
      `borealis-server: point the CLI at it with: borealis config set-context local --url ${cp.url} --token-file ${cp.tokenFile}\n`,
    );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal means "now": the operator gave up on the drain.
      cp.logger.warn({ signal }, 'signalled again: exiting without finishing the drain');
      process.exit(1);
    }
    stopping = true;
    const graceMs = cp.options.shutdownGraceMs;
    cp.logger.info({ signal, graceMs }, 'shutting down');
    // However the drain goes, the process ends within the grace period (plus a moment to log).
    setTimeout(() => {
      cp.logger.error({ graceMs }, 'shutdown did not finish within the grace period; exiting');
      process.exit(1);
    }, graceMs + 1_000).unref();
    cp.close({ graceMs }).then(
      () => {
        cp.logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        cp.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (isBorealisError(err)) {
    process.stderr.write(`borealis-server: ${err.code}: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `borealis-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
