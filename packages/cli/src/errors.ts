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

/** An API call that failed: `status` is the HTTP status, undefined when the server was unreachable. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code?: string,
  ) {
    super(message, 1);
    this.name = 'ApiError';
  }
}
