import type { FastifyError, FastifyInstance } from 'fastify';
import { BorealisError } from '../errors.js';

/**
 * Every error answer has one shape, `{"error": {"code", "message", ...details}}`, whatever raised
 * it: our own BorealisErrors, fastify's body validation and parsing, unknown routes.
 */
export function installErrorHandling(app: FastifyInstance, options: { notFound?: boolean } = {}): void {
  app.setErrorHandler((err: FastifyError | BorealisError, req, reply) => {
    if (err instanceof BorealisError) {
      if (err.status >= 500) req.log.error({ code: err.code, err: err.message }, 'request failed');
      // Someone tried what their roles do not allow: worth a line for whoever watches the log.
      if (err.code === 'BRL_ERR_FORBIDDEN') {
        req.log.warn(
          {
            token: req.identity?.name,
            tokenId: req.identity?.id,
            route: req.routeOptions.url,
            requiredRoles: err.details?.requiredRoles,
          },
          'access refused',
        );
      }
      return reply.status(err.status).send(err.toJSON());
    }
    if (err.validation) {
      const e = new BorealisError('BRL_ERR_BAD_REQUEST', `Invalid request: ${err.message}`, {
        details: { validation: err.validation.map((v) => ({ path: v.instancePath, message: v.message })) },
      });
      return reply.status(400).send(e.toJSON());
    }
    const status = err.statusCode ?? 500;
    if (status === 413)
      return reply.status(413).send(new BorealisError('BRL_ERR_PAYLOAD_TOO_LARGE').toJSON());
    if (status === 415) {
      const e = new BorealisError(
        'BRL_ERR_BAD_REQUEST',
        `content-type ${req.headers['content-type'] ?? 'none'} is not accepted here: send application/json (deploy files may also be application/yaml)`,
      );
      return reply.status(415).send(e.toJSON());
    }
    if (status >= 400 && status < 500) {
      return reply.status(status).send(new BorealisError('BRL_ERR_BAD_REQUEST', err.message).toJSON());
    }
    req.log.error({ err }, 'unexpected error');
    return reply
      .status(500)
      .send(new BorealisError('BRL_ERR_INTERNAL', 'Internal error; see the control plane log').toJSON());
  });
  // `notFound: false`: a scope answers unknown paths instead (the server's `/api/v1` scope, so
  // they ask for a token first).
  if (options.notFound !== false) installNotFound(app);
}

/** Unknown paths: 404 in the API's error shape, after the hooks of the scope it is set in. */
export function installNotFound(scope: FastifyInstance): void {
  scope.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    reply.status(404).send(new BorealisError('BRL_ERR_NOT_FOUND', `No route ${req.method} ${path}`).toJSON());
  });
}
