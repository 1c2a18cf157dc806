import type { FastifyInstance } from 'fastify';
import { BorealisError } from '../errors.js';
import type { AgentCredentialRepository, AgentCredentialSummary } from '../store/index.js';

/**
 * `POST /api/v1/agent-credentials` (body `{name?, allowedIdentifiers?}`; 201 with the client
 * secret, the only time it is shown), `GET /api/v1/agent-credentials` (never secrets),
 * `DELETE /api/v1/agent-credentials/:clientId` (agents using it can no longer connect).
 */
export function registerAgentCredentialRoutes(
  app: FastifyInstance,
  deps: { credentials: AgentCredentialRepository },
): void {
  app.post('/api/v1/agent-credentials', { bodyLimit: 64 * 1024 }, async (req, reply) => {
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
  });

  app.get('/api/v1/agent-credentials', async () => ({
    credentials: (await deps.credentials.list()).map(credentialView),
  }));

  app.delete<{ Params: { clientId: string } }>('/api/v1/agent-credentials/:clientId', async (req, reply) => {
    const { clientId } = req.params;
    if (!(await deps.credentials.revoke(clientId))) {
      throw new BorealisError(
        'BRL_ERR_NOT_FOUND',
        `No active agent credential with client id "${clientId.slice(0, 64)}"; GET /api/v1/agent-credentials lists them`,
      );
    }
    return reply.status(204).send();
  });
}

function credentialView(credential: AgentCredentialSummary) {
  return {
    clientId: credential.clientId,
    name: credential.name,
    allowedIdentifiers: credential.allowedIdentifiers,
    createdAt: new Date(credential.createdAt).toISOString(),
  };
}
