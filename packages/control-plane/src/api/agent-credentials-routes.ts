import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { BorealisError } from '../errors.js';
import type { AgentCredentialRepository, AgentCredentialSummary } from '../store/index.js';

/**
 * `POST /api/v1/agent-credentials` (body `{name?, allowedIdentifiers?}`; 201 with the client
 * secret, the only time it is shown), `GET /api/v1/agent-credentials` (never secrets),
 * `DELETE /api/v1/agent-credentials/:clientId` (agents using it can no longer connect).
 */
export function registerAgentCredentialRoutes(
  app: FastifyInstance,
  deps: { credentials: AgentCredentialRepository; audit: AuditLog },
): void {
  app.post(
    '/api/v1/agent-credentials',
    { config: { permission: 'admin' }, bodyLimit: 64 * 1024 },
    async (req, reply) => {
      const body = req.body ?? {};
      if (typeof body !== 'object' || Array.isArray(body) || body === null) {
        throw new BorealisError(
          'BRL_ERR_BAD_REQUEST',
          'Send a JSON object {"name"?: string, "allowedIdentifiers"?: string[]} (or no body) with Content-Type: application/json',
        );
      }
      const { name, allowedIdentifiers } = body as { name?: unknown; allowedIdentifiers?: unknown };
      // The repository validates both fields and names the offending one in its 400.
      const created = await deps.credentials.create({
        name: name as string | undefined,
        allowedIdentifiers: allowedIdentifiers as string[] | undefined,
      });
      await deps.audit.record(req, {
        action: 'agent-credential.create',
        details: {
          clientId: created.clientId,
          name: created.name,
          allowedIdentifiers: created.allowedIdentifiers,
        },
      });
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({
          clientId: created.clientId,
          clientSecret: created.clientSecret,
          name: created.name,
          allowedIdentifiers: created.allowedIdentifiers,
          createdAt: new Date(created.createdAt).toISOString(),
        });
    },
  );

  app.get('/api/v1/agent-credentials', { config: { permission: 'admin' } }, async () => ({
    credentials: (await deps.credentials.list()).map(credentialView),
  }));

  app.delete<{ Params: { clientId: string } }>(
    '/api/v1/agent-credentials/:clientId',
    { config: { permission: 'admin' } },
    async (req, reply) => {
      const { clientId } = req.params;
      if (!(await deps.credentials.revoke(clientId))) {
        throw new BorealisError(
          'BRL_ERR_NOT_FOUND',
          `No active agent credential with client id "${clientId.slice(0, 64)}"; GET /api/v1/agent-credentials lists them`,
        );
      }
      await deps.audit.record(req, { action: 'agent-credential.revoke', details: { clientId } });
      return reply.status(204).send();
    },
  );
}

function credentialView(credential: AgentCredentialSummary) {
  return {
    clientId: credential.clientId,
    name: credential.name,
    allowedIdentifiers: credential.allowedIdentifiers,
    createdAt: new Date(credential.createdAt).toISOString(),
  };
}
