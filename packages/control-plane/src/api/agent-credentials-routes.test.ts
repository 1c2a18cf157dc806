import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditLog, createAuditLog } from '../audit/index.js';
import { BorealisError } from '../errors.js';
import { createStore, type Store } from '../store/index.js';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '../store/test-stores.test-util.js';
import { registerAgentCredentialRoutes } from './agent-credentials-routes.js';

describe.each(TEST_BACKENDS)('agent credential routes on $kind', ({ kind }) => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  const changes: Array<{ clientId: string; revoked: boolean }> = [];
  const postCredential = (payload: unknown) =>
    app.inject({ method: 'POST', url: '/api/v1/agent-credentials', payload: payload as object });
  /** Creates a credential over the API, then forgets the changes reported so far. */
  async function createCredential(allowedIdentifiers: string[]) {
    const created = (await postCredential({ allowedIdentifiers })).json();
    changes.length = 0;
    return created;
  }
  let audit: AuditLog;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    store = await createStore({ databaseUrl: database.databaseUrl });
    audit = createAuditLog(store.auditLog);
    app = Fastify();
    app.setErrorHandler((err: FastifyError | BorealisError, _req, reply) => {
      if (err instanceof BorealisError) return reply.status(err.status).send(err.toJSON());
      return reply.status(err.statusCode ?? 500).send({ error: { code: err.code, message: err.message } });
    });
    registerAgentCredentialRoutes(app, {
      credentials: store.agentCredentials,
      audit,
      onChanged: async (clientId, revoked) => {
        changes.push({ clientId, revoked });
      },
    });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await store?.close();
    await database?.dispose();
  });

  it('creates a credential with 201, showing the secret once, not cacheable', async () => {
    const res = await postCredential({ name: 'eu-agents', allowedIdentifiers: ['prod-*'] });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({ name: 'eu-agents', allowedIdentifiers: ['prod-*'] });
    expect(typeof body.clientId).toBe('string');
    expect(typeof body.clientSecret).toBe('string');
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
    expect(await store.agentCredentials.verify(body.clientId, body.clientSecret)).toMatchObject({
      clientId: body.clientId,
      allowedIdentifiers: ['prod-*'],
    });

    const listed = await app.inject({ method: 'GET', url: '/api/v1/agent-credentials' });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(body.clientSecret);
    expect(listed.body).not.toMatch(/secret/i);
    expect(listed.json().credentials).toContainEqual({
      clientId: body.clientId,
      name: 'eu-agents',
      allowedIdentifiers: ['prod-*'],
      wildcard: true,
      createdAt: body.createdAt,
    });
  });

  // Issue 10 changed this: an empty object or no body used to create a credential for any
  // identifier; now identifiers are required and the 400 says how to give them.
  it('refuses a credential without identifiers with a 400 that names the field and gives an example', async () => {
    for (const payload of [{}, undefined, { name: 'x' }, { allowedIdentifiers: [] }]) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/agent-credentials',
        ...(payload ? { payload } : {}),
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      const { error } = res.json();
      expect(error.code).toBe('BRL_ERR_BAD_REQUEST');
      expect(error.field).toBe('allowedIdentifiers');
      expect(error.message).toContain('"allowedIdentifiers": ["prod-eu"]');
      expect(error.message).toContain('["*"]');
    }
  });

  it('creates a wildcard credential only when "*" is given explicitly, and flags it', async () => {
    const res = await postCredential({ name: 'any', allowedIdentifiers: ['*'] });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ allowedIdentifiers: ['*'], wildcard: true });
    const exact = await postCredential({ allowedIdentifiers: ['prod-eu'] });
    expect(exact.json()).toMatchObject({ allowedIdentifiers: ['prod-eu'], wildcard: false });
  });

  it.each([
    ['a trailing space', 'prod-eu '],
    ['a look-alike letter', 'prod-\u0435u'],
    ['an empty identifier', ''],
    ['a comma list in one entry', 'prod-eu,staging'],
    ['a slash', 'prod/eu'],
  ])('refuses an identifier with %s, naming the entry', async (_what, identifier) => {
    const res = await postCredential({ allowedIdentifiers: ['ok', identifier] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe('allowedIdentifiers[1]');
    expect(res.json().error.message).toContain('A-Z a-z 0-9');
  });

  it('replaces identifiers with PUT …/allowed-identifiers and reports the change', async () => {
    const created = await createCredential(['staging']);
    const res = await app.inject({
      method: 'PUT',
      url: `/api/v1/agent-credentials/${created.clientId}/allowed-identifiers`,
      payload: { allowedIdentifiers: ['staging', 'staging-*'] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ allowedIdentifiers: ['staging', 'staging-*'], wildcard: true });
    expect(changes).toEqual([{ clientId: created.clientId, revoked: false }]);
    const entries = await audit.list({});
    expect(entries.find((e) => e.action === 'agent-credential.set-identifiers')).toMatchObject({
      details: { clientId: created.clientId, allowedIdentifiers: ['staging', 'staging-*'] },
    });
    const empty = await app.inject({
      method: 'PUT',
      url: `/api/v1/agent-credentials/${created.clientId}/allowed-identifiers`,
      payload: { allowedIdentifiers: [] },
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.field).toBe('allowedIdentifiers');
    const unknown = await app.inject({
      method: 'PUT',
      url: '/api/v1/agent-credentials/agent_nobody/allowed-identifiers',
      payload: { allowedIdentifiers: ['x'] },
    });
    expect(unknown.statusCode).toBe(404);
  });

  it.each([
    ['allowedIdentifiers not an array', { allowedIdentifiers: 'prod-*' }],
    ['an identifier with a space', { allowedIdentifiers: ['prod eu'] }],
    ['a name that is not a string', { name: 7, allowedIdentifiers: ['rna'] }],
    ['an empty name', { name: '  ', allowedIdentifiers: ['rna'] }],
    ['an array body', ['prod-*']],
  ])('answers 400 for %s', async (_what, payload) => {
    const res = await postCredential(payload as object);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BRL_ERR_BAD_REQUEST');
    expect(res.json().error.message).toMatch(/allowedIdentifiers|name|JSON object/);
  });

  it('revokes with 204: the agent can no longer authenticate, and a second revoke is 404', async () => {
    const created = await createCredential(['rna']);
    const revoked = await app.inject({
      method: 'DELETE',
      url: `/api/v1/agent-credentials/${created.clientId}`,
    });
    expect(revoked.statusCode).toBe(204);
    expect(changes).toEqual([{ clientId: created.clientId, revoked: true }]);
    expect(await store.agentCredentials.verify(created.clientId, created.clientSecret)).toBeNull();
    const listed = (await app.inject({ method: 'GET', url: '/api/v1/agent-credentials' })).json();
    expect(listed.credentials.map((c: { clientId: string }) => c.clientId)).not.toContain(created.clientId);

    const again = await app.inject({
      method: 'DELETE',
      url: `/api/v1/agent-credentials/${created.clientId}`,
    });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('BRL_ERR_NOT_FOUND');
  });
});
