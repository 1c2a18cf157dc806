import Fastify, { type FastifyError, type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit/index.js';
import { BorealisError } from '../errors.js';
import { createSecretsRepository, loadSecretKey, type SecretsRepository } from '../secrets/index.js';
import { createStore, type Store } from '../store/index.js';
import { rawDatabase } from '../store/raw-database.test-util.js';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '../store/test-stores.test-util.js';
import { registerSecretsRoutes } from './secrets-routes.js';

const VALUE = 'sk_live_ValueThatNeverLeavesTheServer_42';

describe.each(TEST_BACKENDS)('secrets routes on $kind', ({ kind }) => {
  let database: TestDatabase;
  let store: Store;
  let secrets: SecretsRepository;
  let app: FastifyInstance;
  /** Every answer, so the last test can check that none ever carried a value. */
  const answers: LightMyRequestResponse[] = [];

  async function call(options: Parameters<FastifyInstance['inject']>[0]): Promise<LightMyRequestResponse> {
    const res = await app.inject(options);
    answers.push(res);
    return res;
  }

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    store = await createStore({ databaseUrl: database.databaseUrl });
    secrets = createSecretsRepository({
      rows: store.sealedSecrets,
      key: await loadSecretKey({ keyFile: `${database.dir}/secret.key` }),
    });
    // Secret names may be 128 characters; fastify's default maxParamLength (100) would answer 414.
    app = Fastify({ routerOptions: { maxParamLength: 256 } });
    // What the server's handler does: BorealisErrors and fastify's 4xx become {"error": {...}}.
    app.setErrorHandler((err: FastifyError | BorealisError, _req, reply) => {
      if (err instanceof BorealisError) return reply.status(err.status).send(err.toJSON());
      const status = err.statusCode ?? 500;
      return reply
        .status(status)
        .send({ error: { code: err.code ?? 'BRL_ERR_INTERNAL', message: err.message } });
    });
    registerSecretsRoutes(app, { secrets, audit: createAuditLog(store.auditLog) });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await store?.close();
    await database?.dispose();
  });

  it('creates a secret from JSON with 201 and replaces it from text/plain with 200', async () => {
    const created = await call({
      method: 'PUT',
      url: '/api/v1/secrets/github_token',
      payload: { value: VALUE },
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(Object.keys(body).sort()).toEqual(['createdAt', 'name', 'updatedAt']);
    expect(body.name).toBe('github_token');
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);

    const replaced = await call({
      method: 'PUT',
      url: '/api/v1/secrets/github_token',
      headers: { 'content-type': 'text/plain' },
      payload: `${VALUE}-2\n`,
    });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json().createdAt).toBe(body.createdAt);
    // text/plain is taken exactly as sent, trailing newline included.
    expect((await secrets.getValues(['github_token'])).get('github_token')).toBe(`${VALUE}-2\n`);
  });

  it('accepts a name of exactly 128 characters', async () => {
    const res = await call({
      method: 'PUT',
      url: `/api/v1/secrets/${'n'.repeat(128)}`,
      payload: { value: VALUE },
    });
    expect(res.statusCode).toBe(201);
    await secrets.delete('n'.repeat(128));
  });

  it('lists names and dates only', async () => {
    const res = await call({ method: 'GET', url: '/api/v1/secrets' });
    expect(res.statusCode).toBe(200);
    const { secrets: listed } = res.json() as { secrets: Record<string, unknown>[] };
    expect(listed.map((s) => s.name)).toEqual(['github_token']);
    expect(Object.keys(listed[0] ?? {}).sort()).toEqual(['createdAt', 'name', 'updatedAt']);
  });

  it('deletes with 204, then answers 404 in the error shape', async () => {
    await call({ method: 'PUT', url: '/api/v1/secrets/short_lived', payload: { value: VALUE } });
    expect((await call({ method: 'DELETE', url: '/api/v1/secrets/short_lived' })).statusCode).toBe(204);
    const again = await call({ method: 'DELETE', url: '/api/v1/secrets/short_lived' });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('BRL_ERR_NOT_FOUND');
  });

  it.each([
    ['a name outside [A-Za-z0-9_.-]', '/api/v1/secrets/bad%20name', { value: VALUE }, 'BRL_ERR_SECRET_NAME'],
    ['a name longer than 128', `/api/v1/secrets/${'x'.repeat(129)}`, { value: VALUE }, 'BRL_ERR_SECRET_NAME'],
    ['no value field', '/api/v1/secrets/ok_name', { valeu: VALUE }, 'BRL_ERR_BAD_REQUEST'],
    ['a value that is not a string', '/api/v1/secrets/ok_name', { value: 42 }, 'BRL_ERR_BAD_REQUEST'],
    ['an empty value', '/api/v1/secrets/ok_name', { value: '' }, 'BRL_ERR_BAD_REQUEST'],
    ['an array body', '/api/v1/secrets/ok_name', [VALUE], 'BRL_ERR_BAD_REQUEST'],
    [
      'a value over 64 KiB',
      '/api/v1/secrets/ok_name',
      { value: 'v'.repeat(64 * 1024 + 1) },
      'BRL_ERR_BAD_REQUEST',
    ],
  ])('answers 400 for %s', async (_what, url, payload, code) => {
    const res = await call({ method: 'PUT', url, payload: payload as object });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(20);
  });

  it('answers 400 for a bare JSON string, malformed JSON and an empty text body, without echoing them', async () => {
    for (const [contentType, payload] of [
      ['application/json', JSON.stringify(VALUE)],
      ['application/json', `{"value": ${VALUE}}`],
      ['application/json', `{"value": "${VALUE}"`],
      ['text/plain', ''],
    ] as const) {
      const res = await call({
        method: 'PUT',
        url: '/api/v1/secrets/ok_name',
        headers: { 'content-type': contentType },
        payload,
      });
      expect(res.statusCode, payload).toBe(400);
    }
    expect((await secrets.list()).map((s) => s.name)).not.toContain('ok_name');
  });

  it('refuses a body over the route limit with 413', async () => {
    const res = await call({
      method: 'PUT',
      url: '/api/v1/secrets/huge',
      headers: { 'content-type': 'text/plain' },
      payload: 'v'.repeat(600 * 1024),
    });
    expect(res.statusCode).toBe(413);
  });

  it('never answered with a secret value', () => {
    expect(answers.length).toBeGreaterThan(10);
    for (const res of answers) {
      expect(res.body).not.toContain(VALUE);
      expect(JSON.stringify(res.headers)).not.toContain(VALUE);
    }
  });

  it('audits every change by name, never with the value', async () => {
    const rows = await rawDatabase(store).selectFrom('audit_log').selectAll().orderBy('at').execute();
    const actions = rows.map((r) => `${r.action} ${JSON.parse(r.details).name}`);
    expect(actions).toContain('secret.create github_token');
    expect(actions).toContain('secret.update github_token');
    expect(actions.some((a) => a.startsWith('secret.delete '))).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(VALUE);
  });
});
