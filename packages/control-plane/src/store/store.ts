import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { BorealisError, isBorealisError } from '../errors.js';
import { type ApiTokenRepository, type ApiTokenTables, createApiTokenRepository } from './api-tokens.js';
import {
  type DatabaseTarget,
  DEFAULT_DATA_DIR,
  EMBEDDED_DATABASE_FILE,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from './database-url.js';
import type { StoreLogger } from './logger.js';
import { migrationProvider } from './migrations/index.js';
import { createRepositories, narrowed, type StoreRepositories } from './repositories.js';
import type { Database } from './schema.js';
import { GroupCommitSqliteDialect } from './sqlite-group-commit.js';

export interface CreateStoreOptions {
  /** `BOREALIS_DATABASE_URL`: a `postgres://` URL, or a SQLite path / `sqlite:` / `file:` URL. */
  databaseUrl?: string;
  logger?: StoreLogger;
  /**
   * How long to keep trying to reach PostgreSQL at start (ms, default 30 s), so a control plane
   * started next to its database (docker compose) waits for it instead of crashing.
   */
  connectTimeoutMs?: number;
}

/** One async store, the same whichever database is behind it: its repositories, and more. */
export interface Store extends StoreRepositories {
  readonly kind: DatabaseTarget['kind'];
  /** Where the data lives, safe to log (password masked). */
  readonly location: string;
  readonly apiTokens: ApiTokenRepository;
  /**
   * Runs `fn` in one database transaction: committed when it resolves, rolled back when it
   * throws. `tx` holds the same repositories, bound to the transaction: use them, not the
   * store's, inside `fn` (on SQLite the single connection is held by the transaction, so the
   * store's would wait forever).
   */
  transaction<T>(fn: (tx: StoreRepositories) => Promise<T>): Promise<T>;
  /** Resolves when the database answers; throws `BRL_ERR_STORE_UNAVAILABLE` otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where a store keeps its Kysely instance, for `databaseOf` only: a symbol, not enumerable, so
 * the `Store` interface never shows it (and a proxy of the store still reaches it).
 */
const DATABASE = Symbol('borealis.store.database');

/**
 * The Kysely instance behind `store`, for tests that inspect or damage rows directly (through
 * `raw-database.test-util.ts`). Not exported from `index.ts`: nothing outside `store/` writes SQL.
 */
export function databaseOf(store: Store): Kysely<Database> {
  const db = (store as unknown as Record<symbol, Kysely<Database> | undefined>)[DATABASE];
  if (!db) throw new Error('databaseOf: not a store made by createStore');
  return db;
}

const SQLITE_BUSY_TIMEOUT_MS = 5_000;
const SQLITE_MIGRATION_ATTEMPTS = 5;
const PG_CONNECT_TIMEOUT_MS = 5_000;
const INT8_OID = 20;

/** Opens the database, runs pending migrations and returns the store. */
export async function createStore(options: CreateStoreOptions = {}): Promise<Store> {
  const target = parseDatabaseUrl(options.databaseUrl ?? join(DEFAULT_DATA_DIR, EMBEDDED_DATABASE_FILE));
  const location = redactDatabaseUrl(target);
  const logger = options.logger;
  const db = target.kind === 'sqlite' ? openSqlite(target.path) : openPostgres(target.url, logger);

  try {
    if (target.kind === 'postgres') await waitForDatabase(db, location, options.connectTimeoutMs ?? 30_000);
    await migrate(db, target.kind, location, logger);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw err;
  }

  let closed = false;
  const store: Store = {
    kind: target.kind,
    location,
    ...createRepositories(db, target.kind),
    apiTokens: createApiTokenRepository(narrowed<ApiTokenTables>(db), logger),
    transaction: (fn) => db.transaction().execute((tx) => fn(createRepositories(tx, target.kind))),
    // At run time the answer may reach an API caller or the public /readyz: no path, no host.
    ping: () => ping(db),
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
  Object.defineProperty(store, DATABASE, { value: db, enumerable: false, configurable: true });
  logger?.info({ database: target.kind, location }, 'store ready');
  return store;
}

function openSqlite(path: string): Kysely<Database> {
  return new Kysely<Database>({ dialect: new GroupCommitSqliteDialect(path, () => openSqliteFile(path)) });
}

function openSqliteFile(path: string): SqliteDatabase.Database {
  let database: SqliteDatabase.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    database = new SqliteDatabase(path);
    // busy_timeout first, so a second process (a CLI, a test) opening the file at the same
    // moment waits for the lock instead of failing, even while switching to WAL. WAL lets
    // readers (UI, API) proceed while the engine writes.
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    // NORMAL is durable across application crashes in WAL mode; only power loss can drop the
    // last transactions, which every deployment transition tolerates by being re-driven.
    database.pragma('synchronous = NORMAL');
  } catch (cause) {
    throw new BorealisError(
      'BRL_ERR_STORE_UNAVAILABLE',
      `Cannot open the SQLite database at ${path}: ${(cause as Error).message}; check that the directory is writable or set BOREALIS_DATABASE_URL to another path`,
      { cause, details: { database: 'sqlite', location: path } },
    );
  }
  return database;
}

function openPostgres(url: string, logger: StoreLogger | undefined): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    // Timestamps are bigint milliseconds; pg returns int8 as strings by default because not every
    // int8 fits a JS number. Ours do (until year 287396), so read them as numbers, and refuse
    // loudly rather than round if one ever does not.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? parseInt8
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, it would crash
  // the process. The next query gets a fresh connection (or a clear error).
  pool.on('error', (err) => {
    logger?.warn({ err: { message: err.message } }, 'PostgreSQL connection lost; it will be reopened');
  });
  // A client that is checked out (between the queries of a transaction, say) when its connection
  // dies emits 'error' on itself, where the pool's handler does not reach: unhandled, that
  // crashed the replica (found by the chaos run's database cut). The query in flight, if any,
  // rejects on its own; the pool drops the broken client when it is released.
  pool.on('connect', (client) => {
    client.on('error', (err) => {
      logger?.warn({ err: { message: err.message } }, 'PostgreSQL connection lost while in use');
    });
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`int8 value ${value} does not fit a JavaScript number`);
  }
  return n;
}

async function ping(db: Kysely<Database>, location?: string): Promise<void> {
  try {
    await sql`select 1`.execute(db);
  } catch (cause) {
    throw unavailable(location, cause);
  }
}

async function waitForDatabase(db: Kysely<Database>, location: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 200;
  for (;;) {
    try {
      await ping(db, location);
      return;
    } catch (err) {
      if (Date.now() + delay > deadline) throw err;
      await new Promise((resolveDelay) => setTimeout(resolveDelay, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

function unavailable(location: string | undefined, cause: unknown): BorealisError {
  if (isBorealisError(cause)) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (location === undefined) {
    return new BorealisError(
      'BRL_ERR_STORE_UNAVAILABLE',
      `The database cannot be reached (${reason}); the server's log names it at start ("store ready")`,
      { cause, retryable: true },
    );
  }
  return new BorealisError(
    'BRL_ERR_STORE_UNAVAILABLE',
    `The database at ${location} cannot be reached (${reason}); check that it is running and that BOREALIS_DATABASE_URL is right`,
    { cause, details: { location }, retryable: true },
  );
}

async function migrate(
  db: Kysely<Database>,
  kind: DatabaseTarget['kind'],
  location: string,
  logger: StoreLogger | undefined,
): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    migrationTableName: 'borealis_migration',
    migrationLockTableName: 'borealis_migration_lock',
  });
  let outcome = await migrator.migrateToLatest();
  // Kysely takes no cross-process lock on SQLite, so two processes opening a fresh file together
  // can both try the same migration; the loser's transaction rolls back, and a second look finds
  // the work done. (PostgreSQL replicas are serialised by Kysely's advisory lock.)
  for (
    let attempt = 1;
    outcome.error !== undefined && kind === 'sqlite' && attempt < SQLITE_MIGRATION_ATTEMPTS;
    attempt++
  ) {
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 25 * attempt + Math.random() * 50));
    outcome = await migrator.migrateToLatest();
  }
  const { error, results } = outcome;
  for (const result of results ?? []) {
    if (result.status === 'Success') logger?.info({ migration: result.migrationName }, 'migration applied');
  }
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BorealisError(
      'BRL_ERR_STORE_MIGRATION',
      failed === undefined
        ? `Cannot migrate the database at ${location}: ${reason}`
        : `Migration ${failed} failed on the database at ${location}: ${reason}; the database was left at the previous migration`,
      { cause: error, details: { location, ...(failed === undefined ? {} : { migration: failed }) } },
    );
  }
}
