import { resolve } from 'node:path';
import type SqliteDatabase from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteDialect,
  type SqliteStatement,
} from 'kysely';
import { cachingStatements } from './sqlite-statements.js';

/**
 * Group commit for the embedded SQLite store (issue 17): the writes of one event-loop turn share
 * one SQLite transaction, committed once at the end of the turn, instead of one commit (one WAL
 * append, and with `synchronous = FULL` one fsync) per statement or per transaction.
 *
 * What a caller sees does not change: a store call resolves only once what it wrote is committed
 * (so an engine transition is durable before its effects run: the write-ahead rule), and a
 * `store.transaction(fn)` is still all or nothing. How:
 * - A write outside a transaction runs at once inside the turn's open batch (`BEGIN IMMEDIATE`,
 *   opened by the turn's first write); its result is handed back after the batch's COMMIT.
 * - `store.transaction(fn)` becomes a SAVEPOINT inside the batch: RELEASE on success (its result
 *   handed back after the COMMIT), ROLLBACK TO on failure (only its own writes undone).
 * - A read outside a transaction while a batch is open sees the batch's writes, so it too is
 *   answered after the COMMIT (nothing uncommitted is ever acted on); with no batch open it runs
 *   as before.
 * - If the COMMIT fails, or SQLite rolls the whole batch back (disk full, I/O error), every call
 *   that joined it fails: none of them was told it succeeded.
 * A crash loses only batches not yet committed, whose callers were never answered: as if the
 * process had died just before making those calls.
 *
 * One connection, as before: statements and transactions take turns through a FIFO lock, and
 * an open transaction holds it until its RELEASE or ROLLBACK TO (not until the COMMIT: the next
 * transaction joins the same batch). Stores of one process that open the same file (test kits
 * run several replicas in one process) share that connection: with one each, a second
 * connection's write would wait, blocking the thread, for the first one's batch, which only this
 * thread can commit.
 */
export class GroupCommitSqliteDialect extends SqliteDialect {
  readonly #open: () => GroupCommitSqlite;
  /** The connection the Kysely instance uses (tests read its `stats`). */
  connection: GroupCommitSqlite | undefined;
  /**
   * `path` names the file (one connection per file in this process, shared by every store that
   * opens it); `open` opens it when this process has no connection to it yet.
   */
  constructor(path: string, open: () => SqliteDatabase.Database) {
    super({ database: () => Promise.reject(new Error('GroupCommitSqliteDialect makes its own driver')) });
    this.#open = () => GroupCommitSqlite.acquire(path, open);
  }
  override createDriver(): Driver {
    this.connection = this.#open();
    return new GroupCommitSqliteDriver(this.connection);
  }
}

/** Runs at the end of the turn with the real `setImmediate`, even under a test's fake timers. */
const realSetImmediate = setImmediate;

const SAVEPOINT = 'borealis_tx';

interface Batch {
  /** Settled by the COMMIT (or the failure) of this batch; created when a first caller joins. */
  done?: Promise<void>;
  resolve?: () => void;
  reject?: (err: unknown) => void;
  /** Set when the batch ended without committing: nothing more may run in it. */
  failed?: unknown;
}

class Handle implements DatabaseConnection {
  /** The batch this handle's open transaction lives in (undefined: no transaction open). */
  tx: Batch | undefined;
  constructor(private readonly driver: GroupCommitSqlite) {}
  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, compiledQuery);
  }
  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const { rows } = await this.driver.execute<R>(this, compiledQuery);
    for (const row of rows) yield { rows: [row] };
  }
}

/** Kysely's side: hands out handles on the shared connection; `destroy` lets go of it. */
export class GroupCommitSqliteDriver implements Driver {
  constructor(private readonly connection: GroupCommitSqlite) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return new Handle(this.connection);
  }
  async releaseConnection(): Promise<void> {}
  beginTransaction(connection: DatabaseConnection): Promise<void> {
    return this.connection.begin(connection as Handle);
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.connection.commit(connection as Handle);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.connection.rollback(connection as Handle);
  }
  destroy(): Promise<void> {
    return this.connection.release();
  }
}

/** Connections by file, one per file in this process. */
const open = new Map<string, GroupCommitSqlite>();

/** One SQLite connection and its batches. */
export class GroupCommitSqlite {
  readonly #raw: SqliteDatabase.Database;
  readonly #db: ReturnType<typeof cachingStatements>;
  readonly #key: string | undefined;
  #users = 0;
  #batch: Batch | undefined;
  #commitScheduled = false;
  #locked = false;
  readonly #waiting: Array<() => void> = [];
  /** How many batches committed and how many calls they answered (tests, benchmarks). */
  readonly stats = { batches: 0, joined: 0 };

  /** The connection to `path`, opened with `openDatabase` if this process has none. */
  static acquire(path: string, openDatabase: () => SqliteDatabase.Database): GroupCommitSqlite {
    const key = path === '' || path === ':memory:' ? undefined : resolve(path);
    let connection = key === undefined ? undefined : open.get(key);
    if (!connection) {
      connection = new GroupCommitSqlite(openDatabase(), key);
      if (key !== undefined) open.set(key, connection);
    }
    connection.#users++;
    return connection;
  }

  private constructor(database: SqliteDatabase.Database, key: string | undefined) {
    this.#raw = database;
    this.#db = cachingStatements(database);
    this.#key = key;
  }

  async begin(handle: Handle): Promise<void> {
    await this.#lock();
    try {
      const batch = this.#open();
      this.#run(`savepoint ${SAVEPOINT}`);
      handle.tx = batch;
    } catch (err) {
      this.#unlock();
      throw err;
    }
  }

  async commit(handle: Handle): Promise<void> {
    const batch = this.#usable(handle);
    // A failing RELEASE leaves the transaction open: Kysely then rolls it back.
    this.#run(`release ${SAVEPOINT}`);
    handle.tx = undefined;
    const durable = this.#join(batch);
    this.#unlock();
    await durable;
  }

  async rollback(handle: Handle): Promise<void> {
    const batch = handle.tx;
    if (!batch) return; // its batch failed after the RELEASE: nothing of it remains.
    handle.tx = undefined;
    try {
      if (batch === this.#batch && batch.failed === undefined && this.#raw.inTransaction) {
        this.#run(`rollback to ${SAVEPOINT}`);
        this.#run(`release ${SAVEPOINT}`);
      }
    } catch (err) {
      this.#fail(err);
      throw err;
    } finally {
      this.#unlock();
    }
  }

  /** A store lets go: what waits is committed; the last one closes the file. */
  async release(): Promise<void> {
    if (this.#batch) await this.#commit();
    if (--this.#users > 0) return;
    if (this.#key !== undefined && open.get(this.#key) === this) open.delete(this.#key);
    this.#db.close();
  }

  /** One statement, from a transaction (at once) or on its own (in the batch, answered at COMMIT). */
  async execute<R>(handle: Handle, query: CompiledQuery): Promise<QueryResult<R>> {
    if (handle.tx) {
      this.#usable(handle);
      return this.#statement<R>(query, this.#db.prepare(query.sql));
    }
    await this.#lock();
    let durable: Promise<void> | undefined;
    let result: QueryResult<R>;
    try {
      const statement = this.#db.prepare(query.sql);
      if (this.#batch === undefined && statement.reader) return this.#statement<R>(query, statement);
      const batch = this.#open();
      result = this.#statement<R>(query, statement);
      durable = this.#join(batch);
    } finally {
      this.#unlock();
    }
    await durable;
    return result;
  }

  #statement<R>(query: CompiledQuery, statement: SqliteStatement): QueryResult<R> {
    const parameters = query.parameters as unknown[];
    try {
      if (statement.reader) return { rows: statement.all(parameters) as R[] };
      const { changes, lastInsertRowid } = statement.run(parameters);
      return {
        numAffectedRows: changes !== undefined && changes !== null ? BigInt(changes) : undefined,
        insertId:
          lastInsertRowid !== undefined && lastInsertRowid !== null ? BigInt(lastInsertRowid) : undefined,
        rows: [],
      };
    } catch (err) {
      // A constraint failure undoes only its statement; some errors (disk full, I/O) make SQLite
      // roll the whole transaction back, and with it every write of the batch.
      if (this.#batch && !this.#raw.inTransaction) this.#fail(err);
      throw err;
    }
  }

  /** The open batch, opened (and its COMMIT scheduled) if there is none. Under the lock. */
  #open(): Batch {
    if (this.#batch) return this.#batch;
    this.#run('begin immediate');
    const batch: Batch = {};
    this.#batch = batch;
    if (!this.#commitScheduled) {
      this.#commitScheduled = true;
      realSetImmediate(() => {
        void this.#commit();
      });
    }
    return batch;
  }

  /** Resolves when `batch` is committed; rejects if it fails. */
  #join(batch: Batch): Promise<void> {
    this.stats.joined++;
    if (batch.failed !== undefined) return Promise.reject(batch.failed);
    batch.done ??= new Promise<void>((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
    });
    return batch.done;
  }

  #usable(handle: Handle): Batch {
    const batch = handle.tx;
    if (!batch || batch.failed !== undefined || batch !== this.#batch) {
      throw new Error(
        `the SQLite transaction was rolled back: ${batch?.failed instanceof Error ? batch.failed.message : 'its batch ended'}`,
      );
    }
    return batch;
  }

  async #commit(): Promise<void> {
    await this.#lock();
    this.#commitScheduled = false;
    const batch = this.#batch;
    this.#batch = undefined;
    try {
      if (!batch) return;
      try {
        this.#run('commit');
      } catch (err) {
        this.#abandon(batch, err);
        return;
      }
      this.stats.batches++;
      batch.resolve?.();
    } finally {
      this.#unlock();
    }
  }

  /** The batch was rolled back (by SQLite or by a failed statement of ours): fail its callers. */
  #fail(err: unknown): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = undefined;
    this.#abandon(batch, err);
  }

  /** Undo what is left of a detached batch and fail every call that joined it. */
  #abandon(batch: Batch, err: unknown): void {
    if (this.#raw.inTransaction) {
      try {
        this.#run('rollback');
      } catch {
        // Nothing more to undo, or the connection is unusable: the next statement says so.
      }
    }
    batch.failed = err;
    batch.reject?.(err);
  }

  #run(sql: string): void {
    this.#db.prepare(sql).run([]);
  }

  #lock(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #unlock(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#locked = false;
  }
}
