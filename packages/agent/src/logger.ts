import pino, { type Logger } from 'pino';

/**
 * JSON lines on stdout. Serializers list the fields they keep, so a header or a URL with a
 * token in its query string cannot reach the log by accident.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { pid: process.pid, name: 'borealis-agent' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      err: (err: unknown) => {
        if (!(err instanceof Error)) return { message: String(err) };
        return {
          type: err.name,
          message: err.message,
          code: (err as { code?: unknown }).code,
          stack: err.stack,
        };
      },
    },
    redact: { paths: ['headers', 'authorization', '*.headers', '*.authorization'], remove: true },
  });
}
