import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBorealisError } from '../errors.js';
import { createStore, type Store } from '../store/index.js';
import { rawDatabase } from '../store/raw-database.test-util.js';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '../store/test-stores.test-util.js';
import { createSecretsRepository, loadSecretKey, type SecretsRepository } from './index.js';

const PLAINTEXT = 'ghp_PlainTextThatMustNeverBeStored_0123456789';

describe.each(TEST_BACKENDS)('secrets on $kind', ({ kind }) => {
  let database: TestDatabase;
  let store: Store;
  let secrets: SecretsRepository;
  let keyFile: string;
  /** The secret's row as stored, read past the repository. */
  const storedRow = (name: string) =>
    rawDatabase(store).selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirstOrThrow();

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    store = await createStore({ databaseUrl: database.databaseUrl });
    keyFile = join(database.dir, '.borealis', 'secret.key');
    secrets = createSecretsRepository({ rows: store.sealedSecrets, key: await loadSecretKey({ keyFile }) });
  });

  afterAll(async () => {
    await store?.close();
    await database?.dispose();
  });

  it('stores, replaces, lists and reads back values', async () => {
    const created = await secrets.put('github_token', PLAINTEXT);
    expect(created).toMatchObject({ name: 'github_token', created: true });
    expect(created.createdAt).toBe(created.updatedAt);

    await new Promise((r) => setTimeout(r, 5));
    const replaced = await secrets.put('github_token', 'second value ✓ ünïcode');
    expect(replaced.created).toBe(false);
    expect(replaced.createdAt).toBe(created.createdAt);
    expect(replaced.updatedAt).toBeGreaterThan(created.updatedAt);

    await secrets.put('a.other-name_1', 'x');
    const listed = await secrets.list();
    expect(listed.map((s) => s.name)).toEqual(['a.other-name_1', 'github_token']);
    expect(Object.keys(listed[0] ?? {}).sort()).toEqual(['createdAt', 'name', 'updatedAt']);
    expect(typeof listed[0]?.createdAt).toBe('number');

    const values = await secrets.getValues(['github_token', 'a.other-name_1', 'missing', 'github_token']);
    expect([...values.entries()].sort()).toEqual([
      ['a.other-name_1', 'x'],
      ['github_token', 'second value ✓ ünïcode'],
    ]);
    expect((await secrets.getValues([])).size).toBe(0);
  });

  it('keeps no plaintext at rest, and seals the same value differently each time', async () => {
    await secrets.put('at_rest', PLAINTEXT);
    const first = await storedRow('at_rest');
    await secrets.put('at_rest', PLAINTEXT);
    const second = await storedRow('at_rest');
    for (const row of [first, second]) {
      const raw = JSON.stringify(row);
      expect(raw).not.toContain(PLAINTEXT);
      expect(raw).not.toContain(Buffer.from(PLAINTEXT).toString('base64').slice(0, 20));
      expect(raw).not.toContain(Buffer.from(PLAINTEXT).toString('base64url').slice(0, 20));
      expect(raw).not.toContain(Buffer.from(PLAINTEXT).toString('hex').slice(0, 20));
      expect(row.ciphertext).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    }
    expect(second.ciphertext).not.toBe(first.ciphertext);
  });

  it('refuses a tampered ciphertext with BRL_ERR_SECRET_UNREADABLE', async () => {
    await secrets.put('tampered', PLAINTEXT);
    const row = await storedRow('tampered');
    const [format, nonce, body] = row.ciphertext.split('.') as [string, string, string];
    const bytes = Buffer.from(body, 'base64url');
    bytes[0] = (bytes[0] ?? 0) ^ 0x01;
    for (const ciphertext of [
      `${format}.${nonce}.${bytes.toString('base64url')}`,
      'garbage',
      `v1.${nonce}.`,
    ]) {
      await rawDatabase(store)
        .updateTable('secrets')
        .set({ ciphertext })
        .where('name', '=', 'tampered')
        .execute();
      const err = await secrets.getValues(['tampered']).catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_SECRET_UNREADABLE')).toBe(true);
      expect((err as Error).message).toContain('tampered');
      expect(
        JSON.stringify({ message: (err as Error).message, details: (err as { details?: unknown }).details }),
      ).not.toContain(PLAINTEXT);
    }
    await secrets.delete('tampered');
  });

  it('refuses a ciphertext moved under another name (the name is authenticated)', async () => {
    await secrets.put('source_secret', PLAINTEXT);
    await secrets.put('target_secret', 'harmless');
    const source = await storedRow('source_secret');
    await rawDatabase(store)
      .updateTable('secrets')
      .set({ ciphertext: source.ciphertext })
      .where('name', '=', 'target_secret')
      .execute();
    const err = await secrets.getValues(['target_secret']).catch((e: unknown) => e);
    expect(isBorealisError(err, 'BRL_ERR_SECRET_UNREADABLE')).toBe(true);
    await secrets.delete('target_secret');
    await secrets.delete('source_secret');
  });

  it('reports secrets sealed with another key as BRL_ERR_SECRET_KEY, at start and on read', async () => {
    await secrets.put('sealed_with_file_key', PLAINTEXT);
    const otherKey = await loadSecretKey({ envKey: randomBytes(32).toString('base64'), keyFile });
    const withOtherKey = createSecretsRepository({ rows: store.sealedSecrets, key: otherKey });

    const atStart = await withOtherKey.checkKey().catch((e: unknown) => e);
    expect(isBorealisError(atStart, 'BRL_ERR_SECRET_KEY')).toBe(true);
    expect((atStart as Error).message).toContain('BOREALIS_SECRET_KEY');

    const onRead = await withOtherKey.getValues(['sealed_with_file_key']).catch((e: unknown) => e);
    expect(isBorealisError(onRead, 'BRL_ERR_SECRET_KEY')).toBe(true);
    expect((onRead as Error).message).toContain('sealed_with_file_key');
    expect((onRead as Error).message).not.toContain(PLAINTEXT);

    await expect(secrets.checkKey()).resolves.toBeUndefined();
  });

  it('survives a restart with the same key file', async () => {
    await secrets.put('durable', PLAINTEXT);
    const reopened = await createStore({ databaseUrl: database.databaseUrl });
    try {
      const again = createSecretsRepository({
        rows: reopened.sealedSecrets,
        key: await loadSecretKey({ keyFile }),
      });
      expect((await again.getValues(['durable'])).get('durable')).toBe(PLAINTEXT);
    } finally {
      await reopened.close();
    }
  });

  it('validates names and values with clear errors that never quote the value', async () => {
    for (const name of ['', 'has space', 'slash/name', 'x'.repeat(129), 'ünï', '{{x}}']) {
      const err = await secrets.put(name, PLAINTEXT).catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_SECRET_NAME'), name).toBe(true);
      expect((err as Error).message).toContain('letters, digits');
      expect((err as Error).message).not.toContain(PLAINTEXT);
    }
    expect((await secrets.put('x'.repeat(128), 'ok')).created).toBe(true);
    for (const value of ['', 'x'.repeat(64 * 1024 + 1), 42 as unknown as string]) {
      const err = await secrets.put('valid_name', value).catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_BAD_REQUEST')).toBe(true);
    }
  });

  it('deletes a secret once', async () => {
    await secrets.put('to_delete', PLAINTEXT);
    expect(await secrets.delete('to_delete')).toBe(true);
    expect(await secrets.delete('to_delete')).toBe(false);
    expect((await secrets.getValues(['to_delete'])).size).toBe(0);
  });
});
