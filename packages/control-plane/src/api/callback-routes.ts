import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { BorealisError, isBorealisError } from '../errors.js';
import type { AcceptCallback } from '../webhooks/index.js';
import { createRateLimiter, DEFAULT_CALLBACK_RATE_LIMIT, type RateLimitOptions } from './rate-limiter.js';
import { routeSchema, stringParams } from './route-schema.js';

/** Room for a 64 KiB mdMessage, JSON-escaped, and the rest of the body. */
export const CALLBACK_BODY_LIMIT = 128 * 1024;

/**
 * `POST /callbacks/:token/callback`: how an external process reports its outcome. No bearer
 * token (the server's auth hook skips `/callbacks/`): the 256-bit token in the path is the
 * credential. The body is read as text whatever its content type (receivers send JSON with
 * `curl -d`, which says form-urlencoded), then parsed here so every failure has our error shape.
 *
 * Request logging is off for this route: the URL carries the token, and tokens are never logged.
 */
export function registerCallbackRoutes(
  app: FastifyInstance,
  deps: {
    webhooks: { acceptCallback: AcceptCallback };
    rateLimit?: RateLimitOptions;
    logger?: Logger;
  },
): void {
  const limiter = createRateLimiter(deps.rateLimit ?? DEFAULT_CALLBACK_RATE_LIMIT);
  let limitedLogged = 0;
  /** Counts a failed look-up against its source; over the limit, the answer is a 429. */
  const failedLookUp = (source: string, reply: { header(k: string, v: string): unknown }) => {
    if (limiter.take(source)) return;
    reply.header('retry-after', '1');
    // One line per second at most, whatever the flood.
    if (Date.now() - limitedLogged > 1_000) {
      limitedLogged = Date.now();
      deps.logger?.warn(
        { remoteAddress: source },
        'callbacks: too many unknown tokens from this source; answering 429 (valid callbacks are not limited). Behind a proxy, set BOREALIS_TRUSTED_PROXIES so each caller is told apart',
      );
    }
    throw new BorealisError(
      'BRL_ERR_RATE_LIMITED',
      'Too many callbacks with unknown tokens from this address; slow down (a valid callback URI is never limited)',
    );
  };
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'string', bodyLimit: CALLBACK_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );
    scope.post<{ Params: { token: string } }>(
      '/callbacks/:token/callback',
      {
        logLevel: 'silent',
        bodyLimit: CALLBACK_BODY_LIMIT,
        schema: routeSchema(
          'webhooks',
          'A webhook callback {success, mdMessage?}; the single-use token is in the path',
          {
            params: stringParams('token'),
          },
        ),
      },
      async (req, reply) => {
        // The token is always looked up: only failures are limited, per source, so strangers
        // guessing (from anywhere, or behind the same proxy) never slow a valid callback.
        try {
          const answer = await deps.webhooks.acceptCallback(req.params.token, parseJson(req.body), {
            from: req.ip,
          });
          deps.logger?.info({ status: answer.status, remoteAddress: req.ip }, 'callback answered');
          return answer;
        } catch (err) {
          if (isBorealisError(err, 'BRL_ERR_CALLBACK_UNKNOWN')) failedLookUp(req.ip, reply);
          throw err;
        }
      },
    );
    // Anything else under /callbacks/ (a GET, a missing /callback) gets a hint, and is not
    // request-logged either: its URL may carry a token too.
    scope.all('/callbacks/*', { logLevel: 'silent', schema: { hide: true } }, async (req, reply) => {
      failedLookUp(req.ip, reply);
      throw new BorealisError(
        'BRL_ERR_CALLBACK_UNKNOWN',
        'Callbacks are POST <callbackUri>/callback with a JSON body {"success": true|false, "mdMessage": "..."}',
      );
    });
  });
}

/** Undefined for a missing or non-JSON body: acceptCallback answers that with a 400 naming the shape. */
function parseJson(body: unknown): unknown {
  if (typeof body !== 'string' || body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
