import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertRows, runShape, updateWhere } from './compiled-shapes.js';

interface Tables {
  t: { id: string; n: number; note: string | null; status: string };
}

/**
 * Statements compiled once per shape write and read what Kysely's own statements would, each
 * call with its own values, on a real SQLite database.
 */
describe('compiled shapes', () => {
  let db: Kysely<Tables>;

  beforeEach(async () => {
    db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
    await sql`create table t (id text primary key, n integer not null, note text default 'none', status text not null)`.execute(
      db,
    );
  });
  afterEach(() => db.destroy());

  const all = () => db.selectFrom('t').selectAll().orderBy('id').execute();

  it('reuses a shape with each call’s own values, in the SQL Kysely writes for it', async () => {
    await insertRows(db, 't', [{ id: 'a', n: 1, note: null, status: 'x' }]);
    await insertRows(db, 't', [{ id: 'b', n: 2, note: 'two', status: 'y' }]);
    await insertRows(db, 't', [
      { id: 'c', n: 3, note: 'three', status: 'x' },
      { id: 'd', n: 4, note: null, status: 'y' },
    ]);
    expect(await all()).toEqual([
      { id: 'a', n: 1, note: null, status: 'x' },
      { id: 'b', n: 2, note: 'two', status: 'y' },
      { id: 'c', n: 3, note: 'three', status: 'x' },
      { id: 'd', n: 4, note: null, status: 'y' },
    ]);
    const seen: string[] = [];
    const { rows } = await runShape(db, 'select t by status', ['y'], ([status]) => {
      const q = db
        .selectFrom('t')
        .select('id')
        .where('status', '=', status as string)
        .orderBy('id');
      seen.push(q.compile().sql);
      return q;
    });
    expect(rows).toEqual([{ id: 'b' }, { id: 'd' }]);
    expect(seen).toEqual([
      db.selectFrom('t').select('id').where('status', '=', 'y').orderBy('id').compile().sql,
    ]);
    // Seen once: the builder is not called again.
    const again = await runShape(db, 'select t by status', ['x'], () => {
      throw new Error('built twice');
    });
    expect(again.rows).toEqual([{ id: 'a' }, { id: 'c' }]);
  });

  it('leaves undefined columns out (their default), and rows that differ go through Kysely', async () => {
    await insertRows(db, 't', [{ id: 'a', n: 1, note: undefined, status: 'x' }]);
    await insertRows(db, 't', [
      { id: 'b', n: 2, status: 'x' },
      { id: 'c', n: 3, note: 'c', status: 'x' },
    ]);
    expect((await all()).map((r) => r.note)).toEqual(['none', null, 'c']);
  });

  it('updates by equal values and lists of any length, counting the rows changed', async () => {
    for (const [id, n] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      await insertRows(db, 't', [{ id, n, note: null, status: 'new' }]);
    const one = await updateWhere(db, 't', { status: 'done', note: undefined }, [
      ['id', '=', 'a'],
      ['status', 'in', ['new']],
    ]);
    const two = await updateWhere(db, 't', { status: 'done' }, [
      ['id', '=', 'b'],
      ['status', 'in', ['new', 'old']],
    ]);
    const none = await updateWhere(db, 't', { status: 'done' }, [
      ['id', '=', 'c'],
      ['status', 'in', ['old']],
    ]);
    expect([one.numAffectedRows, two.numAffectedRows, none.numAffectedRows]).toEqual([1n, 1n, 0n]);
    expect((await all()).map((r) => `${r.id}:${r.status}:${r.note}`)).toEqual([
      'a:done:null',
      'b:done:null',
      'c:new:null',
    ]);
  });

  it('refuses a shape that does not make every value a parameter', async () => {
    await expect(
      runShape(db, 'a value dropped', ['a', 'b'], ([id]) =>
        db
          .selectFrom('t')
          .selectAll()
          .where('id', '=', id as string),
      ),
    ).rejects.toThrow(/1 values not parameters/);
  });

  it('keeps shapes per dialect: the same key compiles PostgreSQL’s placeholders for PostgreSQL', async () => {
    const pgDb = new Kysely<Tables>({
      dialect: new PostgresDialect({
        pool: {
          // Compiling needs no connection; the one query run here is answered without a server.
          connect: async () => ({
            query: async (q: string, p: unknown[]) => ({ command: 'SELECT', rows: [{ q, p }] }),
            release: () => {},
          }),
          end: async () => {},
        },
      }),
    });
    await runShape(db, 'by id', ['a'], ([id]) =>
      db
        .selectFrom('t')
        .selectAll()
        .where('id', '=', id as string),
    );
    const { rows } = await runShape(pgDb, 'by id', ['a'], ([id]) =>
      pgDb
        .selectFrom('t')
        .selectAll()
        .where('id', '=', id as string),
    );
    expect(rows).toEqual([{ q: 'select * from "t" where "id" = $1', p: ['a'] }]);
    await pgDb.destroy();
  });
});
