import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { BorealisError } from '../errors.js';
import {
  type SecretMetadata,
  type SecretsRepository,
  validateSecretName,
  validateSecretValue,
} from '../secrets/index.js';
import { routeSchema, stringParams } from './route-schema.js';

/** Room for the largest value the repository accepts (64 KiB) plus JSON escaping. */
const SECRET_BODY_LIMIT_BYTES = 512 * 1024;

/**
 * `PUT /api/v1/secrets/:name` (JSON `{"value": "..."}` or the raw value as `text/plain`; 201 when
 * created, 200 when replaced), `GET /api/v1/secrets`, `DELETE /api/v1/secrets/:name`.
 * No route ever answers with a value, and no error message quotes one.
 */
export function registerSecretsRoutes(
  app: FastifyInstance,
  deps: { secrets: SecretsRepository; audit: AuditLog },
): void {
  app.put<{ Params: { name: string } }>(
    '/api/v1/secrets/:name',
    {
      config: { permission: 'admin' },
      bodyLimit: SECRET_BODY_LIMIT_BYTES,
      schema: routeSchema('secrets', 'Create or replace a secret ({"value"}; never returned)', {
        params: stringParams('name'),
      }),
    },
    async (req, reply) => {
      const name = validateSecretName(req.params.name);
      const isText = (req.headers['content-type'] ?? '').toLowerCase().startsWith('text/plain');
      const value = validateSecretValue(secretValueFromBody(req.body, isText));
      const result = await deps.secrets.put(name, value);
      // The name only: a value never reaches the audit log.
      await deps.audit.record(req, {
        action: result.created ? 'secret.create' : 'secret.update',
        details: { name },
      });
      return reply.status(result.created ? 201 : 200).send(secretView(result));
    },
  );

  app.get(
    '/api/v1/secrets',
    {
      config: { permission: 'admin' },
      schema: routeSchema('secrets', 'Secret names and dates (values never)'),
    },
    async () => ({
      secrets: (await deps.secrets.list()).map(secretView),
    }),
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/secrets/:name',
    {
      config: { permission: 'admin' },
      schema: routeSchema('secrets', 'Delete a secret', { params: stringParams('name') }),
    },
    async (req, reply) => {
      const name = validateSecretName(req.params.name);
      if (!(await deps.secrets.delete(name))) {
        throw new BorealisError(
          'BRL_ERR_NOT_FOUND',
          `No secret named "${name}"; GET /api/v1/secrets lists them`,
        );
      }
      await deps.audit.record(req, { action: 'secret.delete', details: { name } });
      return reply.status(204).send();
    },
  );
}

/** The value from a JSON `{"value"}` body or a raw `text/plain` body (taken exactly as sent). */
function secretValueFromBody(body: unknown, isText: boolean): unknown {
  if (isText) return typeof body === 'string' ? body : '';
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('value' in body)) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      'Send the secret as JSON {"value": "..."} (Content-Type: application/json) or as the raw value (Content-Type: text/plain)',
      { details: { field: 'value' } },
    );
  }
  return (body as { value: unknown }).value;
}

function secretView(secret: SecretMetadata): { name: string; createdAt: string; updatedAt: string } {
  return {
    name: secret.name,
    createdAt: new Date(secret.createdAt).toISOString(),
    updatedAt: new Date(secret.updatedAt).toISOString(),
  };
}
