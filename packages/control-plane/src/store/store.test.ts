import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useTestStore } from '../../../../test/kit/store.js';
import { type BorealisError, isBorealisError } from '../errors.js';
import { parseDatabaseUrl } from './database-url.js';
import { createStore } from './index.js';
import { migrations } from './migrations/index.js';
import { rawDatabase } from './raw-database.test-util.js';

describe.each(TEST_BACKENDS)('store on $kind', ({ kind }) => {
  const { store, database } = useTestStore(kind);

  it('opens the requested backend and answers ping', async () => {
    expect(store.kind).toBe(kind);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('applies every migration once, and reopening the same database applies none again', async () => {
    const applied = await rawDatabase(store)
      .selectFrom('borealis_migration' as never)
      .select('name' as never)
      .execute();
    expect(applied.map((row) => (row as { name: string }).name)).toEqual(Object.keys(migrations));

    const logged: string[] = [];
    const again = await createStore({
      databaseUrl: database.databaseUrl,
      logger: { info: (obj, msg) => logged.push(`${msg} ${JSON.stringify(obj)}`), warn: () => undefined },
    });
    try {
      expect(logged.filter((line) => line.startsWith('migration applied'))).toEqual([]);
      await again.agentCredentials.create({ name: 'after-reopen', allowedIdentifiers: ['rna'] });
      expect((await store.agentCredentials.list()).map((c) => c.name)).toContain('after-reopen');
    } finally {
      await again.close();
    }
  });

  it('reads bigint millisecond timestamps back as JS numbers', async () => {
    const created = await store.agentCredentials.create({ name: 'timestamps', allowedIdentifiers: ['rna'] });
    const row = await rawDatabase(store)
      .selectFrom('agent_credentials')
      .select(['created_at'])
      .where('client_id', '=', created.clientId)
      .executeTakeFirstOrThrow();
    expect(typeof row.created_at).toBe('number');
    expect(row.created_at).toBe(created.createdAt);
  });

  it('commits a transaction when it resolves and rolls it back when it throws', async () => {
    const kept = await store.transaction(async (tx) => {
      await tx.sealedSecrets.insertIfAbsent({ name: 'tx-kept', ciphertext: 'x', key_id: 'k' }, 1);
      return 'done';
    });
    expect(kept).toBe('done');

    await expect(
      store.transaction(async (tx) => {
        await tx.sealedSecrets.insertIfAbsent({ name: 'tx-dropped', ciphertext: 'x', key_id: 'k' }, 1);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');

    const names = (await rawDatabase(store).selectFrom('secrets').select('name').execute()).map(
      (r) => r.name,
    );
    expect(names).toContain('tx-kept');
    expect(names).not.toContain('tx-dropped');
    await rawDatabase(store).deleteFrom('secrets').where('name', '=', 'tx-kept').execute();
  });

  it('answers ping with BRL_ERR_STORE_UNAVAILABLE once closed', async () => {
    const extra = await createStore({ databaseUrl: database.databaseUrl });
    await extra.close();
    await extra.close(); // closing twice is harmless
    const err = await extra.ping().catch((e: unknown) => e);
    expect(isBorealisError(err, 'BRL_ERR_STORE_UNAVAILABLE')).toBe(true);
    // /readyz is public and API answers carry the message: neither may name a file or a host.
    const answer = JSON.stringify((err as BorealisError).toJSON());
    expect(answer).not.toContain(database.dir);
    expect(answer).not.toContain('127.0.0.1');
  });
});

describe('store start-up failures', () => {
  it('reports an unreachable PostgreSQL with BRL_ERR_STORE_UNAVAILABLE and no password', async () => {
    const err = await createStore({
      databaseUrl: 'postgres://someone:hunter2@127.0.0.1:1/nowhere',
      connectTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(isBorealisError(err, 'BRL_ERR_STORE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('127.0.0.1:1');
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('reports a SQLite path that cannot be created with BRL_ERR_STORE_UNAVAILABLE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'borealis-store-test-'));
    try {
      // A regular file where a directory should be: fails the same for root and other users.
      await writeFile(join(dir, 'not-a-dir'), '');
      const path = join(dir, 'not-a-dir', 'x.db');
      const err = await createStore({ databaseUrl: path }).catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_STORE_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toContain(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseDatabaseUrl', () => {
  it('recognises PostgreSQL URLs', () => {
    expect(parseDatabaseUrl('postgres://u@h:5432/db')).toEqual({
      kind: 'postgres',
      url: 'postgres://u@h:5432/db',
    });
    expect(parseDatabaseUrl('postgresql://h/db').kind).toBe('postgres');
  });

  it('resolves SQLite paths, sqlite: and file: URLs', () => {
    expect(parseDatabaseUrl('/tmp/a.db')).toEqual({ kind: 'sqlite', path: '/tmp/a.db' });
    expect(parseDatabaseUrl('sqlite:/tmp/b.db')).toEqual({ kind: 'sqlite', path: '/tmp/b.db' });
    expect(parseDatabaseUrl('sqlite:///tmp/c.db')).toEqual({ kind: 'sqlite', path: '/tmp/c.db' });
    expect(parseDatabaseUrl('file:///tmp/d.db')).toEqual({ kind: 'sqlite', path: '/tmp/d.db' });
    expect(parseDatabaseUrl('./.borealis/borealis.db')).toEqual({
      kind: 'sqlite',
      path: `${process.cwd()}/.borealis/borealis.db`,
    });
    expect(parseDatabaseUrl(':memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
  });

  it('refuses other schemes and empty values with BRL_ERR_CONFIG naming the variable', () => {
    for (const bad of ['mysql://u:pw@h/db', '', 'sqlite:']) {
      let caught: unknown;
      try {
        parseDatabaseUrl(bad);
      } catch (err) {
        caught = err;
      }
      expect(isBorealisError(caught, 'BRL_ERR_CONFIG')).toBe(true);
      expect((caught as Error).message).toContain('BOREALIS_DATABASE_URL');
      expect((caught as Error).message).not.toContain('pw');
    }
  });
});
