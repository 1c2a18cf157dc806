import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useTestStore } from '../../../../test/kit/store.js';
import { isBorealisError } from '../errors.js';
import { createStore } from './index.js';
import { rawDatabase } from './raw-database.test-util.js';

describe.each(TEST_BACKENDS)('API tokens on $kind', ({ kind }) => {
  const { store, database } = useTestStore(kind);

  it('generates a token file (mode 0600) on first start, stores only its hash, and reuses it later', async () => {
    const tokenFile = join(database.dir, '.borealis', 'api-token');
    const first = await store.apiTokens.ensureBootstrapToken({ tokenFile });
    expect(first).toEqual({ source: 'file-created', tokenFile });
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    expect(token.length).toBeGreaterThanOrEqual(43);
    expect(await store.apiTokens.verifyApiToken(token)).toMatchObject({
      name: 'bootstrap',
      roles: ['admin'],
    });

    const rows = await rawDatabase(store).selectFrom('api_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);

    // A restart (new store on the same database) reuses the file and keeps the token valid.
    const restarted = await createStore({ databaseUrl: database.databaseUrl });
    try {
      expect(await restarted.apiTokens.ensureBootstrapToken({ tokenFile })).toEqual({
        source: 'file-reused',
        tokenFile,
      });
      expect((await readFile(tokenFile, 'utf8')).trim()).toBe(token);
      expect(await restarted.apiTokens.verifyApiToken(token)).toMatchObject({
        name: 'bootstrap',
        roles: ['admin'],
      });
    } finally {
      await restarted.close();
    }
    const bootstrapRows = await rawDatabase(store)
      .selectFrom('api_tokens')
      .where('name', '=', 'bootstrap')
      .selectAll()
      .execute();
    expect(bootstrapRows).toHaveLength(1);
  });

  it('accepts BOREALIS_API_TOKEN as the token named env, without writing a file or a row', async () => {
    const tokenFile = join(database.dir, 'env-case', 'api-token');
    const before = await rawDatabase(store).selectFrom('api_tokens').selectAll().execute();
    const envStore = await createStore({ databaseUrl: database.databaseUrl });
    try {
      expect(
        await envStore.apiTokens.ensureBootstrapToken({ envToken: 'test-token-123', tokenFile }),
      ).toEqual({
        source: 'env',
      });
      expect(await envStore.apiTokens.verifyApiToken('test-token-123')).toEqual({
        id: null,
        name: 'env',
        roles: ['admin'],
      });
      expect(await envStore.apiTokens.verifyApiToken('test-token-124')).toBeNull();
      await expect(stat(tokenFile)).rejects.toThrow();
      expect(await rawDatabase(envStore).selectFrom('api_tokens').selectAll().execute()).toEqual(before);
    } finally {
      await envStore.close();
    }
    // Another process without the variable does not know that token.
    expect(await store.apiTokens.verifyApiToken('test-token-123')).toBeNull();
  });

  it('refuses unknown, empty, oversized and revoked tokens', async () => {
    expect(await store.apiTokens.verifyApiToken('nope')).toBeNull();
    expect(await store.apiTokens.verifyApiToken('')).toBeNull();
    expect(await store.apiTokens.verifyApiToken('x'.repeat(10_000))).toBeNull();

    const created = await store.apiTokens.create({ name: 'alice', roles: ['deployer'] });
    expect(await store.apiTokens.verifyApiToken(created.token)).toEqual({
      id: created.id,
      name: 'alice',
      roles: ['deployer'],
    });
    expect(await store.apiTokens.revoke(created.id)).toMatchObject({ id: created.id, name: 'alice' });
    expect(await store.apiTokens.revoke(created.id)).toBeUndefined();
    expect(await store.apiTokens.verifyApiToken(created.token)).toBeNull();
  });

  it('refuses a token file that holds no token, naming the file and the fix', async () => {
    const tokenFile = join(database.dir, 'broken-token');
    await writeFile(tokenFile, '\n', { mode: 0o600 });
    const err = await store.apiTokens.ensureBootstrapToken({ tokenFile }).catch((e: unknown) => e);
    expect(isBorealisError(err, 'BRL_ERR_CONFIG')).toBe(true);
    expect((err as Error).message).toContain(tokenFile);
    expect((err as Error).message).toContain('BOREALIS_API_TOKEN');
  });

  it('reserves the names env and bootstrap', async () => {
    for (const name of ['env', 'bootstrap']) {
      const err = await store.apiTokens.create({ name, roles: ['viewer'] }).catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_BAD_REQUEST')).toBe(true);
      expect((err as Error).message).toContain('reserved');
    }
  });

  it('stores roles, lists tokens without their secrets, and refuses bad names and roles with the field named', async () => {
    const a = await store.apiTokens.create({ name: 'carol', roles: ['viewer', 'prod-approvers', 'viewer'] });
    expect(a.roles).toEqual(['viewer', 'prod-approvers']);
    const listed = await store.apiTokens.list();
    expect(listed.find((t) => t.id === a.id)).toEqual({
      id: a.id,
      name: 'carol',
      roles: ['viewer', 'prod-approvers'],
      createdAt: a.createdAt,
    });
    expect(JSON.stringify(listed)).not.toContain(a.token);
    const rows = await rawDatabase(store).selectFrom('api_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(a.token);
    for (const [input, field] of [
      [{ name: '', roles: ['viewer'] }, 'name'],
      [{ name: 'bad name', roles: ['viewer'] }, 'name'],
      [{ name: 'esc\u001b[2J', roles: ['viewer'] }, 'name'],
      [{ name: 'x'.repeat(65), roles: ['viewer'] }, 'name'],
      [{ name: 42, roles: ['viewer'] }, 'name'],
      [{ name: 'dave', roles: [] }, 'roles'],
      [{ name: 'dave', roles: 'admin' }, 'roles'],
      [{ name: 'dave' }, 'roles'],
      [{ name: 'dave', roles: ['ok', 'trailing '] }, 'roles[1]'],
      [{ name: 'dave', roles: ['tab\there'] }, 'roles[0]'],
      [{ name: 'dave', roles: ['-dash-first'] }, 'roles[0]'],
      [{ name: 'dave', roles: [7] }, 'roles[0]'],
    ] as const) {
      const err = await store.apiTokens
        .create(input as { name: unknown; roles: unknown })
        .catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_BAD_REQUEST'), JSON.stringify(input)).toBe(true);
      expect((err as { details?: { field?: string } }).details?.field, JSON.stringify(input)).toBe(field);
    }
    expect((await store.apiTokens.list()).some((t) => t.name === 'dave')).toBe(false);
    // Armory's files name roles with spaces; a token can hold them.
    const org = await store.apiTokens.create({ name: 'olga', roles: ['Organization Admin'] });
    expect((await store.apiTokens.verifyApiToken(org.token))?.roles).toEqual(['Organization Admin']);
  });
});
