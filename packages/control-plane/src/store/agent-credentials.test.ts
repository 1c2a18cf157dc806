import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBorealisError } from '../errors.js';
import { createStore, isIdentifierAllowed, type Store } from './index.js';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from './test-stores.js';

describe.each(TEST_BACKENDS)('agent credentials on $kind', ({ kind }) => {
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

  it('creates a credential whose secret verifies and is stored only as a hash', async () => {
    const created = await store.agentCredentials.create({
      name: 'rna-eu',
      allowedIdentifiers: ['prod-*', 'test-rna'],
    });
    expect(created.clientId).toMatch(/^agent_[0-9a-f]{24}$/);
    expect(Buffer.from(created.clientSecret, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(created.allowedIdentifiers).toEqual(['prod-*', 'test-rna']);
    expect(typeof created.createdAt).toBe('number');

    expect(await store.agentCredentials.verify(created.clientId, created.clientSecret)).toEqual({
      clientId: created.clientId,
      name: 'rna-eu',
      allowedIdentifiers: ['prod-*', 'test-rna'],
    });

    const rows = await store.db.selectFrom('agent_credentials').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(created.clientSecret);
  });

  it('answers a wrong secret and an unknown client id the same way: null', async () => {
    const created = await store.agentCredentials.create();
    expect(await store.agentCredentials.verify(created.clientId, `${created.clientSecret}x`)).toBeNull();
    expect(await store.agentCredentials.verify(created.clientId, '')).toBeNull();
    expect(
      await store.agentCredentials.verify('agent_000000000000000000000000', created.clientSecret),
    ).toBeNull();
    expect(await store.agentCredentials.verify('', '')).toBeNull();
  });

  it('lists active credentials without secrets, and a revoked one neither verifies nor lists', async () => {
    const created = await store.agentCredentials.create({ name: 'to-revoke' });
    const listed = await store.agentCredentials.list();
    const entry = listed.find((c) => c.clientId === created.clientId);
    expect(entry).toEqual({
      clientId: created.clientId,
      name: 'to-revoke',
      allowedIdentifiers: [],
      createdAt: created.createdAt,
    });
    expect(JSON.stringify(listed)).not.toContain(created.clientSecret);
    expect(JSON.stringify(listed)).not.toMatch(/secret/i);

    expect(await store.agentCredentials.revoke(created.clientId)).toBe(true);
    expect(await store.agentCredentials.revoke(created.clientId)).toBe(false);
    expect(await store.agentCredentials.revoke('agent_unknown')).toBe(false);
    expect(await store.agentCredentials.verify(created.clientId, created.clientSecret)).toBeNull();
    expect((await store.agentCredentials.list()).map((c) => c.clientId)).not.toContain(created.clientId);
  });

  it('refuses bad names and identifiers with BRL_ERR_BAD_REQUEST', async () => {
    for (const input of [
      { name: '' },
      { name: 'x'.repeat(200) },
      { allowedIdentifiers: 'prod' as unknown as string[] },
      { allowedIdentifiers: ['ok', 'has space'] },
      { allowedIdentifiers: [''] },
    ]) {
      const err = await store.agentCredentials.create(input).catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_BAD_REQUEST'), JSON.stringify(input)).toBe(true);
    }
  });
});

describe('isIdentifierAllowed', () => {
  it('allows any identifier when the list is empty', () => {
    expect(isIdentifierAllowed({ allowedIdentifiers: [] }, 'anything')).toBe(true);
  });

  it('matches literals exactly and * as any run of characters', () => {
    const cred = { allowedIdentifiers: ['prod-*', 'test-rna', '*-canary', 'a.b'] };
    expect(isIdentifierAllowed(cred, 'prod-eu')).toBe(true);
    expect(isIdentifierAllowed(cred, 'prod-')).toBe(true);
    expect(isIdentifierAllowed(cred, 'test-rna')).toBe(true);
    expect(isIdentifierAllowed(cred, 'us-canary')).toBe(true);
    expect(isIdentifierAllowed(cred, 'a.b')).toBe(true);
    expect(isIdentifierAllowed(cred, 'axb')).toBe(false); // '.' is literal, not a regex wildcard
    expect(isIdentifierAllowed(cred, 'preprod-eu')).toBe(false);
    expect(isIdentifierAllowed(cred, 'test-rna-2')).toBe(false);
    expect(isIdentifierAllowed(cred, 'staging')).toBe(false);
  });
});
