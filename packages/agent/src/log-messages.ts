/**
 * Log lines other programs and tests wait for (`"msg":"<value>"` in the JSON output). Changing
 * one is a breaking change.
 */
export const LogMessages = {
  /** Health server bound; fields `host`, `port`. */
  listening: 'listening',
  /** WELCOME received; fields `identifier`, `sessionId`, `instanceId`. */
  connected: 'connected',
  /** The tunnel dropped; fields `code`, `reason`. */
  disconnected: 'disconnected',
  /** Drain complete, tunnel closed. */
  drained: 'drained',
  /**
   * BOREALIS_KUBERNETES: where the agent can deploy, checked once at start; fields `server`,
   * `canActIn` (namespaces), `cannotActIn` (namespace → missing permissions), `hint`; warn or
   * error level when something is missing.
   */
  kubernetesAccess: 'kubernetes access',
} as const;
