import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBorealisError } from '../errors.js';
import { createStore, type Store } from './index.js';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from './test-stores.js';

describe.each(TEST_BACKENDS)('API tokens on $kind', ({ kind }) => {
  let database: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    store = await createStore({ databaseUrl: database.databaseUrl });
  });

  afterAll(async () => {
    await store?.close();
    await database?.dispose();
  });

  it('generates a token file (mode 0600) on first start, stores only its hash, and reuses it later', async () => {
    const tokenFile = join(database.dir, '.borealis', 'api-token');
    const first = await store.apiTokens.ensureBootstrapToken({ tokenFile });
    expect(first).toEqual({ source: 'file-created', tokenFile });
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    expect(token.length).toBeGreaterThanOrEqual(43);
    expect(await store.apiTokens.verifyApiToken(token)).toEqual({ name: 'bootstrap' });

    const rows = await store.db.selectFrom('api_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);

    // A restart (new store on the same database) reuses the file and keeps the token valid.
    const restarted = await createStore({ databaseUrl: database.databaseUrl });
    try {
      expect(await restarted.apiTokens.ensureBootstrapToken({ tokenFile })).toEqual({
        source: 'file-reused',
        tokenFile,
      });
      expect((await readFile(tokenFile, 'utf8')).trim()).toBe(token);
      expect(await restarted.apiTokens.verifyApiToken(token)).toEqual({ name: 'bootstrap' });
    } finally {
      await restarted.close();
    }
    const bootstrapRows = await store.db
      .selectFrom('api_tokens')
      .where('name', '=', 'bootstrap')
      .selectAll()
      .execute();
    expect(bootstrapRows).toHaveLength(1);
  });

  it('accepts BOREALIS_API_TOKEN as the token named env, without writing a file or a row', async () => {
    const tokenFile = join(database.dir, 'env-case', 'api-token');
    const before = await store.db.selectFrom('api_tokens').selectAll().execute();
    const envStore = await createStore({ databaseUrl: database.databaseUrl });
    try {
      expect(
        await envStore.apiTokens.ensureBootstrapToken({ envToken: 'test-token-123', tokenFile }),
      ).toEqual({
        source: 'env',
      });
      expect(await envStore.apiTokens.verifyApiToken('test-token-123')).toEqual({ name: 'env' });
      expect(await envStore.apiTokens.verifyApiToken('test-token-124')).toBeNull();
      await expect(stat(tokenFile)).rejects.toThrow();
      expect(await envStore.db.selectFrom('api_tokens').selectAll().execute()).toEqual(before);
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

    const created = await store.apiTokens.create('alice');
    expect(await store.apiTokens.verifyApiToken(created.token)).toEqual({ name: 'alice' });
    expect(await store.apiTokens.revoke(created.id)).toBe(true);
    expect(await store.apiTokens.revoke(created.id)).toBe(false);
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

  it('reserves the name env for BOREALIS_API_TOKEN', async () => {
    const err = await store.apiTokens.create('env').catch((e: unknown) => e);
    expect(isBorealisError(err, 'BRL_ERR_BAD_REQUEST')).toBe(true);
  });
});
