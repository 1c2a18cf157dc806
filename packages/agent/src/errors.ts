/**
 * The agent's own error catalogue (errors that cross the tunnel come from the protocol package).
 * Codes are stable; messages are for people and may change.
 */
export const AgentErrorCatalogue = {
  BRL_ERR_AGENT_CONFIG: {
    exitCode: 2,
    message: 'The agent configuration is invalid',
  },
  BRL_ERR_AGENT_HEALTH_LISTEN: {
    exitCode: 1,
    message: 'The health server could not listen on its port',
  },
} as const;

export type AgentErrorCode = keyof typeof AgentErrorCatalogue;

export class AgentError extends Error {
  readonly code: AgentErrorCode;
  readonly exitCode: number;

  constructor(code: AgentErrorCode, message?: string, options: { cause?: unknown } = {}) {
    super(message ?? AgentErrorCatalogue[code].message, options.cause === undefined ? {} : options);
    this.name = 'AgentError';
    this.code = code;
    this.exitCode = AgentErrorCatalogue[code].exitCode;
  }
}

/** Every problem found in the configuration at once, so one restart fixes them all. */
export class AgentConfigError extends AgentError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      'BRL_ERR_AGENT_CONFIG',
      `Invalid agent configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'AgentConfigError';
    this.problems = problems;
  }
}
