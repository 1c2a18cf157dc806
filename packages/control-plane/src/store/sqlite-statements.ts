import type SqliteDatabase from 'better-sqlite3';
import type { SqliteDatabase as KyselySqliteDatabase, SqliteStatement } from 'kysely';

/** How many distinct SQL texts keep their prepared statement (least recently used goes first). */
export const SQLITE_STATEMENT_CACHE_SIZE = 500;

/**
 * The better-sqlite3 database as Kysely's SqliteDialect sees it, with its prepared statements
 * reused: Kysely calls `prepare(sql)` for every query, and compiling the same SQL again was a
 * large share of a deployment start (issue 17). Statements are kept by SQL text in a bounded LRU.
 * Kysely runs one query at a time on the single connection, so a cached statement is never in
 * use twice; a streamed query (`iterate`) keeps the statement busy until it ends, so it gets a
 * statement of its own.
 */
export function cachingStatements(
  database: SqliteDatabase.Database,
  capacity = SQLITE_STATEMENT_CACHE_SIZE,
): KyselySqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  function cached(sql: string): SqliteStatement {
    const hit = cache.get(sql);
    if (hit) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const prepared = database.prepare(sql);
    const statement: SqliteStatement = {
      reader: prepared.reader,
      all: (parameters) => prepared.all(parameters as unknown[]),
      run: (parameters) => prepared.run(parameters as unknown[]),
      iterate: (parameters) => database.prepare(sql).iterate(parameters as unknown[]),
    };
    cache.set(sql, statement);
    if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
    return statement;
  }
  return {
    close: () => {
      cache.clear();
      database.close();
    },
    prepare: cached,
  };
}
