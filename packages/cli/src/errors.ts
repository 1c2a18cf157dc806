/** Thrown for anything the CLI reports to a person and exits non-zero on (2: usage, 1: the rest). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
