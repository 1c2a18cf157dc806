import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { BorealisError } from '../errors.js';
import {
  type AgentCredentialRepository,
  type AgentCredentialSummary,
  ALLOWED_IDENTIFIERS_HOW,
  isWildcardCredential,
  validateIdentifiers,
} from '../store/index.js';

export interface AgentCredentialRouteDeps {
  credentials: AgentCredentialRepository;
  /** Every change (create, identifiers, revoke) is recorded with who made it; never the secret. */
  audit: AuditLog;
  /**
   * A credential was revoked (`revoked`) or its identifiers changed: close the live sessions it
   * no longer covers, on every replica. Awaited before the answer, so a 204 means this replica's
   * sessions are closed already.
   */
  onChanged?: (clientId: string, revoked: boolean) => Promise<void>;
}

const identifierList = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  items: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.*-]+$' },
  description:
    'Agent identifiers this credential may serve; `*` is a glob (`prod-*`), `["*"]` allows every one',
} as const;

const credentialView = {
  type: 'object',
  required: ['clientId', 'name', 'allowedIdentifiers', 'wildcard', 'createdAt'],
  properties: {
    clientId: { type: 'string' },
    name: { type: 'string' },
    allowedIdentifiers: { type: 'array', items: { type: 'string' } },
    wildcard: { type: 'boolean', description: 'true when a pattern holds `*`' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

const errorAnswer = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      additionalProperties: true,
    },
  },
} as const;

const clientIdParams = {
  type: 'object',
  required: ['clientId'],
  properties: { clientId: { type: 'string', minLength: 1, maxLength: 256 } },
} as const;

/**
 * `POST /api/v1/agent-credentials` (body `{name?, allowedIdentifiers}`; 201 with the client
 * secret, the only time it is shown), `GET /api/v1/agent-credentials` (never secrets),
 * `PUT /api/v1/agent-credentials/:clientId/allowed-identifiers` (replace the identifiers; live
 * sessions they no longer cover are closed), `DELETE /api/v1/agent-credentials/:clientId` (its
 * live sessions are closed on every replica; agents using it can no longer connect).
 *
 * Bodies are checked by the repository's own rules before fastify's schema runs (preValidation),
 * so a bad one gets a message naming the field and how to fix it, and nothing is coerced.
 */
export function registerAgentCredentialRoutes(app: FastifyInstance, deps: AgentCredentialRouteDeps): void {
  app.post(
    '/api/v1/agent-credentials',
    {
      bodyLimit: 64 * 1024,
      config: { permission: 'admin' },
      preValidation: async (req: FastifyRequest) => {
        const body = req.body;
        if (typeof body !== 'object' || Array.isArray(body) || body === null) {
          throw new BorealisError(
            'BRL_ERR_BAD_REQUEST',
            `Send a JSON object {"name"?: string, "allowedIdentifiers": string[]} with Content-Type: application/json: ${ALLOWED_IDENTIFIERS_HOW}`,
            { details: { field: 'allowedIdentifiers' } },
          );
        }
        const { name, allowedIdentifiers } = body as { name?: unknown; allowedIdentifiers?: unknown };
        validateIdentifiers(allowedIdentifiers);
        if (name !== undefined && name !== null && typeof name !== 'string') {
          throw new BorealisError('BRL_ERR_BAD_REQUEST', 'Agent credential "name" must be a string', {
            details: { field: 'name' },
          });
        }
      },
      schema: {
        tags: ['agent credentials'],
        summary: 'Create a credential {name, allowedIdentifiers} (the secret is shown once)',
        body: {
          type: 'object',
          required: ['allowedIdentifiers'],
          properties: { name: { type: 'string', maxLength: 256 }, allowedIdentifiers: identifierList },
        },
        response: {
          201: {
            ...credentialView,
            required: [...credentialView.required, 'clientSecret'],
            properties: { ...credentialView.properties, clientSecret: { type: 'string' } },
          },
          400: errorAnswer,
        },
      },
    },
    async (req, reply) => {
      const { name, allowedIdentifiers } = req.body as { name?: string; allowedIdentifiers: string[] };
      const created = await deps.credentials.create({ name, allowedIdentifiers });
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
        .send({ ...view(created), clientSecret: created.clientSecret });
    },
  );

  app.get(
    '/api/v1/agent-credentials',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['agent credentials'],
        summary: 'Agent credentials (never their secrets)',
        response: {
          200: {
            type: 'object',
            required: ['credentials'],
            properties: { credentials: { type: 'array', items: credentialView } },
          },
        },
      },
    },
    async () => ({ credentials: (await deps.credentials.list()).map(view) }),
  );

  app.put<{ Params: { clientId: string }; Body: { allowedIdentifiers: string[] } }>(
    '/api/v1/agent-credentials/:clientId/allowed-identifiers',
    {
      bodyLimit: 64 * 1024,
      config: { permission: 'admin' },
      preValidation: async (req: FastifyRequest) => {
        const body = req.body as { allowedIdentifiers?: unknown } | null | undefined;
        validateIdentifiers(typeof body === 'object' && body !== null ? body.allowedIdentifiers : undefined);
      },
      schema: {
        tags: ['agent credentials'],
        summary: 'Replace the agent identifiers a credential may serve',
        params: clientIdParams,
        body: {
          type: 'object',
          required: ['allowedIdentifiers'],
          properties: { allowedIdentifiers: identifierList },
        },
        response: { 200: credentialView, 400: errorAnswer, 404: errorAnswer },
      },
    },
    async (req) => {
      const { clientId } = req.params;
      const updated = await deps.credentials.setAllowedIdentifiers(clientId, req.body.allowedIdentifiers);
      if (!updated) throw notFound(clientId);
      await deps.audit.record(req, {
        action: 'agent-credential.set-identifiers',
        details: { clientId, allowedIdentifiers: updated.allowedIdentifiers },
      });
      await deps.onChanged?.(clientId, false);
      return view(updated);
    },
  );

  app.delete<{ Params: { clientId: string } }>(
    '/api/v1/agent-credentials/:clientId',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['agent credentials'],
        summary: 'Revoke a credential (its agents are disconnected)',
        params: clientIdParams,
        response: { 404: errorAnswer },
      },
    },
    async (req, reply) => {
      const { clientId } = req.params;
      if (!(await deps.credentials.revoke(clientId))) throw notFound(clientId);
      await deps.audit.record(req, { action: 'agent-credential.revoke', details: { clientId } });
      await deps.onChanged?.(clientId, true);
      return reply.status(204).send();
    },
  );
}

function notFound(clientId: string): BorealisError {
  return new BorealisError(
    'BRL_ERR_NOT_FOUND',
    `No active agent credential with client id ${JSON.stringify(clientId.slice(0, 64))}; GET /api/v1/agent-credentials (borealis agent-credentials list) lists them`,
  );
}

function view(credential: AgentCredentialSummary) {
  return {
    clientId: credential.clientId,
    name: credential.name,
    allowedIdentifiers: credential.allowedIdentifiers,
    wildcard: isWildcardCredential(credential),
    createdAt: new Date(credential.createdAt).toISOString(),
  };
}
