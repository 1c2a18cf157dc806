/**
 * The command line both programs (`borealis-agent`, `borealis-server`) take: none. They are
 * configured by BOREALIS_* environment variables; `--help` and `--version` answer before anything
 * starts, and any other argument is a usage error.
 */
export type ProgramArgs = { action: 'help' | 'version' | 'run' } | { error: string };

export function parseProgramArgs(program: string, argv: string[]): ProgramArgs {
  if (argv.includes('--help') || argv.includes('-h')) return { action: 'help' };
  if (argv.includes('--version') || argv.includes('-V')) return { action: 'version' };
  if (argv.length > 0)
    return {
      error: `unknown argument ${argv[0]}: ${program} is configured by BOREALIS_* environment variables (see --help)`,
    };
  return { action: 'run' };
}

/**
 * Answers what `parseArgs` made of the command line: the help or version on stdout (false: do not
 * run), a usage error on stderr with exit code 2, or true: go on and start.
 */
export function answerProgramArgs(
  program: string,
  args: ProgramArgs,
  texts: { help: string; version: string },
): boolean {
  if ('error' in args) {
    process.stderr.write(`${program}: ${args.error}\n`);
    process.exit(2);
  }
  if (args.action === 'help') {
    process.stdout.write(`${texts.help}\n`);
    return false;
  }
  if (args.action === 'version') {
    process.stdout.write(`${program} ${texts.version}\n`);
    return false;
  }
  return true;
}

/**
 * `options` with every key of `defaults` it leaves unset (undefined or null) filled in from
 * `defaults`; both programs' `addDefaults` (the caller names the result's type).
 */
export function withDefaults<R>(options: object, defaults: object): R {
  const given = options as Record<string, unknown>;
  const out: Record<string, unknown> = { ...given };
  for (const [key, value] of Object.entries(defaults)) out[key] = given[key] ?? value;
  return out as R;
}
