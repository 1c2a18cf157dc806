import { createPrettyLogStream, serializeError } from '@borealis/protocol';
import pino, { type Logger } from 'pino';

/**
 * The control plane's log, built here only: JSON lines on stdout (`BOREALIS_LOG_FORMAT=pretty`:
 * one readable line each, for people), ISO 8601 timestamps, errors by the fields worth keeping
 * (the serializer the agent uses too). Belt and braces: request logging never includes headers,
 * but if a header object is ever logged its credentials are masked.
 */
export function createLogger(options: { level: string; format: 'json' | 'pretty' }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'borealis-control-plane' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError },
      redact: {
        paths: ['*.headers.authorization', '*.headers.cookie', 'headers.authorization'],
        censor: '****',
      },
    },
    options.format === 'pretty' ? createPrettyLogStream() : pino.destination(1),
  );
}

/** What a request log line says about the request: never headers, never the query string. */
export function requestForLog(req: { method?: string; url?: string; ip?: string; host?: string }) {
  const url = typeof req.url === 'string' ? req.url : '';
  const q = url.indexOf('?');
  return {
    method: req.method,
    url: q === -1 ? url : `${url.slice(0, q)}?…`,
    host: req.host,
    remoteAddress: req.ip,
  };
}
