/**
 * Network failures in words people know, shared by webhook calls and metric queries: the error
 * code undici or the socket left, and what it means.
 */

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'the host name does not resolve (DNS)',
  EAI_AGAIN: 'DNS lookup failed temporarily',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timed out',
  EPIPE: 'connection closed while sending',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_CLOSED: 'connection closed',
};

/** A network failure in words people know, with its code ("connection refused (ECONNREFUSED)"). */
export function describeNetworkError(code: string | undefined, message: string): string {
  return code !== undefined && NETWORK_ERRORS[code] ? `${NETWORK_ERRORS[code]} (${code})` : message;
}

/** The first `code` on an error or down its `cause` chain (undici wraps the socket's). */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const cause = (err as { cause?: unknown }).cause;
  return cause === undefined ? undefined : errorCode(cause);
}
