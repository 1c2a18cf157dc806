import type { FastifyInstance } from 'fastify';
import { routeSchema, stringParams } from '../api/route-schema.js';
import type { AuditLog } from '../audit/index.js';
import { BorealisError } from '../errors.js';
import type { ApiTokenRepository, ApiTokenSummary } from '../store/index.js';
import { BuiltInRole } from './roles.js';

/**
 * People's API tokens (admin only):
 * `POST /api/v1/tokens {name, roles}` → 201 `{id, name, roles, token, createdAt}`, the only time
 * the token is shown (it is stored hashed); `GET /api/v1/tokens` (never a token);
 * `DELETE /api/v1/tokens/:id` → 204, and the token is refused from the next request on.
 */
export function registerTokenRoutes(
  app: FastifyInstance,
  deps: { tokens: ApiTokenRepository; audit: AuditLog; envTokenConfigured: boolean },
): void {
  app.post(
    '/api/v1/tokens',
    {
      config: { permission: 'admin' },
      bodyLimit: 16 * 1024,
      schema: routeSchema('tokens', 'Create an API token {name, roles} (the token is shown once)'),
    },
    async (req, reply) => {
      const body = req.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new BorealisError(
          'BRL_ERR_BAD_REQUEST',
          'Send a JSON object {"name": "alice", "roles": ["deployer"]} with Content-Type: application/json',
        );
      }
      const { name, roles, ...rest } = body as Record<string, unknown>;
      const extra = Object.keys(rest);
      if (extra.length) {
        throw new BorealisError(
          'BRL_ERR_BAD_REQUEST',
          `Unknown field(s) ${extra.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}; a token has name and roles`,
        );
      }
      const created = await deps.tokens.create({ name, roles });
      await deps.audit.record(req, {
        action: 'token.create',
        details: { tokenId: created.id, name: created.name, roles: created.roles },
      });
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ ...tokenView(created), token: created.token });
    },
  );

  app.get(
    '/api/v1/tokens',
    { config: { permission: 'admin' }, schema: routeSchema('tokens', 'API tokens (never their values)') },
    async () => ({
      tokens: (await deps.tokens.list()).map(tokenView),
      ...(deps.envTokenConfigured
        ? {
            note: 'BOREALIS_API_TOKEN is also accepted (name env, role admin); it is configuration, not listed',
          }
        : {}),
    }),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/tokens/:id',
    {
      config: { permission: 'admin' },
      schema: routeSchema('tokens', 'Revoke an API token', { params: stringParams('id') }),
    },
    async (req, reply) => {
      const { id } = req.params;
      const active = await deps.tokens.list();
      const target = active.find((t) => t.id === id);
      if (!target) {
        throw new BorealisError(
          'BRL_ERR_NOT_FOUND',
          `No active API token with id "${id.slice(0, 64)}"; borealis tokens list shows them`,
        );
      }
      // Never leave the API without an admin: BOREALIS_API_TOKEN, or another admin token.
      const otherAdmins = active.filter((t) => t.id !== id && t.roles.includes(BuiltInRole.admin));
      if (target.roles.includes(BuiltInRole.admin) && otherAdmins.length === 0 && !deps.envTokenConfigured) {
        throw new BorealisError(
          'BRL_ERR_CONFLICT',
          `Token "${target.name}" is the last admin token; create another admin token first (borealis tokens create NAME --role admin), then revoke this one`,
        );
      }
      const revoked = await deps.tokens.revoke(id);
      if (!revoked)
        throw new BorealisError('BRL_ERR_NOT_FOUND', `API token "${id.slice(0, 64)}" was already revoked`);
      await deps.audit.record(req, {
        action: 'token.revoke',
        details: { tokenId: revoked.id, name: revoked.name, roles: revoked.roles },
      });
      return reply.status(204).send();
    },
  );
}

function tokenView(t: ApiTokenSummary) {
  return { id: t.id, name: t.name, roles: t.roles, createdAt: new Date(t.createdAt).toISOString() };
}
