import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GroupCommitSqlite, GroupCommitSqliteDialect } from './sqlite-group-commit.js';

interface Tables {
  t: { id: string; n: number };
  parent: { id: string };
  child: { id: string; parent_id: string };
}

/**
 * The group-committing SQLite driver against a real database file, watched from a second,
 * independent connection: what that one sees is what is committed (what a crash would keep).
 */
describe('SQLite group commit', () => {
  let dir: string;
  let db: Kysely<Tables>;
  let driver: GroupCommitSqlite;
  let other: SqliteDatabase.Database;
  let path: string;

  const openFile = () => {
    const raw = new SqliteDatabase(path);
    raw.pragma('busy_timeout = 5000');
    raw.pragma('journal_mode = WAL');
    raw.pragma('foreign_keys = ON');
    return raw;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'brl-group-commit-'));
    path = join(dir, 'db.sqlite');
    const dialect = new GroupCommitSqliteDialect(path, openFile);
    db = new Kysely<Tables>({ dialect });
    await sql`create table t (id text primary key, n integer not null)`.execute(db);
    await sql`create table parent (id text primary key)`.execute(db);
    // Checked at COMMIT, not per statement: a way to make a COMMIT fail.
    await sql`create table child (id text primary key, parent_id text not null references parent (id) deferrable initially deferred)`.execute(
      db,
    );
    driver = dialect.connection as GroupCommitSqlite;
    other = new SqliteDatabase(path, { readonly: true });
  });

  afterEach(async () => {
    other.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const committed = (id: string) =>
    other.prepare('select n from t where id = ?').get(id) as { n: number } | undefined;

  it('answers each write of a turn once the one COMMIT they share has made it visible to another connection', async () => {
    const before = driver.stats.batches;
    const seenAtAnswer: Array<boolean> = [];
    const writes = Array.from({ length: 20 }, (_, i) =>
      db
        .insertInto('t')
        .values({ id: `w${i}`, n: i })
        .execute()
        .then(() => seenAtAnswer.push(committed(`w${i}`)?.n === i)),
    );
    const transactions = Array.from({ length: 5 }, (_, i) =>
      db.transaction().execute(async (tx) => {
        await tx
          .insertInto('t')
          .values({ id: `x${i}`, n: 100 })
          .execute();
        await tx
          .updateTable('t')
          .set({ n: 100 + i })
          .where('id', '=', `x${i}`)
          .execute();
        return i;
      }),
    );
    // Nothing is committed before the turn ends.
    expect(committed('w0')).toBeUndefined();
    await Promise.all(writes);
    expect(await Promise.all(transactions)).toEqual([0, 1, 2, 3, 4]);
    expect(seenAtAnswer).toEqual(Array(20).fill(true));
    for (let i = 0; i < 5; i++) expect(committed(`x${i}`)?.n).toBe(100 + i);
    expect(driver.stats.batches - before).toBe(1);
  });

  it('a transaction that throws undoes only its own writes; a failing statement fails only its caller', async () => {
    await db.insertInto('t').values({ id: 'dup', n: 0 }).execute();
    const before = driver.stats.batches;
    const a = db.insertInto('t').values({ id: 'a', n: 1 }).execute();
    const failedTx = db.transaction().execute(async (tx) => {
      await tx.insertInto('t').values({ id: 'b', n: 2 }).execute();
      throw new Error('changed my mind');
    });
    const duplicate = db.insertInto('t').values({ id: 'dup', n: 9 }).execute();
    const c = db.transaction().execute((tx) => tx.insertInto('t').values({ id: 'c', n: 3 }).execute());
    await expect(failedTx).rejects.toThrow('changed my mind');
    await expect(duplicate).rejects.toThrow(/UNIQUE/);
    await a;
    await c;
    expect(committed('a')?.n).toBe(1);
    expect(committed('b')).toBeUndefined();
    expect(committed('c')?.n).toBe(3);
    expect(committed('dup')?.n).toBe(0);
    expect(driver.stats.batches - before).toBe(1);
  });

  it('a read while writes wait for their COMMIT sees them, and is answered after it', async () => {
    const write = db.insertInto('t').values({ id: 'r', n: 7 }).execute();
    const read = db
      .selectFrom('t')
      .select('n')
      .where('id', '=', 'r')
      .executeTakeFirst()
      .then((row) => ({ row, committedThen: committed('r')?.n }));
    await write;
    expect(await read).toEqual({ row: { n: 7 }, committedThen: 7 });
  });

  it('when the COMMIT fails, every call of the batch fails, nothing of it is kept, and the next batch works', async () => {
    const good = db.insertInto('t').values({ id: 'lost', n: 1 }).execute();
    const inTx = db
      .transaction()
      .execute((tx) => tx.insertInto('t').values({ id: 'lost-too', n: 2 }).execute());
    // No such parent: allowed until the COMMIT checks the deferred foreign key.
    const orphan = db.insertInto('child').values({ id: 'c1', parent_id: 'nobody' }).execute();
    const results = await Promise.allSettled([good, inTx, orphan]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/FOREIGN KEY/);
    expect(committed('lost')).toBeUndefined();
    expect(committed('lost-too')).toBeUndefined();
    await db.insertInto('t').values({ id: 'after', n: 3 }).execute();
    expect(committed('after')?.n).toBe(3);
  });

  it('transactions take turns on the one connection: a second one never sees the first half-done', async () => {
    await db.insertInto('t').values({ id: 'counter', n: 0 }).execute();
    const bump = () =>
      db.transaction().execute(async (tx) => {
        const row = await tx
          .selectFrom('t')
          .select('n')
          .where('id', '=', 'counter')
          .executeTakeFirstOrThrow();
        await new Promise((r) => setTimeout(r, 1));
        await tx
          .updateTable('t')
          .set({ n: row.n + 1 })
          .where('id', '=', 'counter')
          .execute();
      });
    await Promise.all(Array.from({ length: 10 }, bump));
    expect(committed('counter')?.n).toBe(10);
  });

  it('two stores of one process on one file share its connection, so neither waits on the other', async () => {
    const second = new Kysely<Tables>({ dialect: new GroupCommitSqliteDialect(path, openFile) });
    try {
      const writes: Array<Promise<unknown>> = [];
      for (let i = 0; i < 10; i++) {
        writes.push(
          db.transaction().execute((tx) =>
            tx
              .insertInto('t')
              .values({ id: `one${i}`, n: i })
              .execute(),
          ),
        );
        writes.push(
          second
            .insertInto('t')
            .values({ id: `two${i}`, n: i })
            .execute(),
        );
      }
      // With a connection each, a write of one would wait on the other's open batch, blocking
      // this thread until the busy timeout, and fail (SQLITE_BUSY).
      await Promise.all(writes);
      expect(committed('one9')?.n).toBe(9);
      expect(committed('two9')?.n).toBe(9);
    } finally {
      await second.destroy();
    }
    // The first store still works after the second let go.
    await db.insertInto('t').values({ id: 'still', n: 1 }).execute();
    expect(committed('still')?.n).toBe(1);
  });
});
