import { createPrettyLogStream, serializeError } from '@borealis/protocol';
import pino, { type Logger } from 'pino';

/** The error serializer both programs share (it lives with the wire's other shared rules). */
export { serializeError };

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
