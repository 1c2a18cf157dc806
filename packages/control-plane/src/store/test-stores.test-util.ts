import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Test harness: fresh, real databases of both kinds, so every store test runs against real
 * SQLite and real PostgreSQL (`describe.each(TEST_BACKENDS)`). A `.test-util.ts`: the build
 * leaves it out of `dist/`; only tests import it.
 */
export const TEST_BACKENDS = [{ kind: 'sqlite' }, { kind: 'postgres' }] as const;
export type TestBackendKind = (typeof TEST_BACKENDS)[number]['kind'];

export interface TestDatabase {
  kind: TestBackendKind;
  /** Pass as `createStore({ databaseUrl })`; the same URL reopens the same database. */
  databaseUrl: string;
  /** A fresh private directory for files next to the store (token file, key file). */
  dir: string;
  /** Drops the database (PostgreSQL) and removes `dir`. */
  dispose(): Promise<void>;
}

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The admin connection used to create and drop test databases (`BOREALIS_TEST_POSTGRES_URL`). */
export function testPostgresAdminUrl(): string {
  return process.env.BOREALIS_TEST_POSTGRES_URL || DEFAULT_ADMIN_URL;
}

export async function createTestDatabase(kind: TestBackendKind): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'borealis-store-test-'));
  if (kind === 'sqlite') {
    return {
      kind,
      databaseUrl: join(dir, 'borealis.db'),
      dir,
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const adminUrl = testPostgresAdminUrl();
  const name = `borealis_test_${randomBytes(6).toString('hex')}`;
  try {
    await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    databaseUrl: url.toString(),
    dir,
    dispose: async () => {
      // FORCE ends connections a failed test may have left open (PostgreSQL 13+).
      await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (cause) {
    const shown = new URL(adminUrl);
    if (shown.password !== '') shown.password = '***';
    // Never skip: a store suite that silently ran on SQLite only would hide PostgreSQL bugs.
    throw new Error(
      `PostgreSQL is not reachable at ${shown.toString()} (${(cause as Error).message}). The store tests need a real PostgreSQL: ` +
        'start it (e.g. `service postgresql start`, or `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`) ' +
        'or point BOREALIS_TEST_POSTGRES_URL at an admin connection that may CREATE DATABASE.',
      { cause },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
