import { createPrettyLogStream } from '@borealis/protocol';
import pino, { type Logger } from 'pino';

/** Errors and error-like objects (ws's ErrorEvent, `{message, code}`) by the fields worth keeping. */
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

/**
 * JSON lines on stdout (`BOREALIS_LOG_FORMAT=pretty`: one readable line each, for people).
 * Serializers list the fields they keep, so a header or a URL with a token in its query string
 * cannot reach the log by accident. Timestamps are ISO 8601.
 */
export function createLogger(level: string, format = process.env.BOREALIS_LOG_FORMAT): Logger {
  const options = {
    level,
    base: { pid: process.pid, name: 'borealis-agent' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError },
    redact: { paths: ['headers', 'authorization', '*.headers', '*.authorization'], remove: true },
  };
  return format === 'pretty' ? pino(options, createPrettyLogStream()) : pino(options);
}
