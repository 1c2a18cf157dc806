/**
 * What both programs' logs keep of an error: errors and error-like objects (ws's ErrorEvent,
 * `{message, code}`) by the fields worth keeping, so a failed redial never logs `[object Object]`
 * and no property an error happens to carry (a request, its headers) reaches a log line.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    return {
      type: err.name,
      message: err.message,
      code: (err as { code?: unknown }).code,
      stack: err.stack,
    };
  }
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; code?: unknown; error?: unknown; type?: unknown };
    if (e.error instanceof Error) return serializeError(e.error);
    return {
      ...(typeof e.type === 'string' ? { type: e.type } : {}),
      message: typeof e.message === 'string' ? e.message : JSON.stringify(err),
      ...(e.code !== undefined ? { code: e.code } : {}),
    };
  }
  return { message: String(err) };
}
