import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createStore, type Store } from '../../packages/control-plane/src/store/index.js';
import {
  createTestDatabase,
  TEST_BACKENDS,
  type TestBackendKind,
  type TestDatabase,
} from '../../packages/control-plane/src/store/test-stores.test-util.js';

export { createTestDatabase, TEST_BACKENDS, type TestBackendKind, type TestDatabase };

export interface TestStore {
  /** The open store: usable inside tests and hooks (it forwards to the store the hook opened). */
  store: Store;
  /** Its fresh database: `databaseUrl` reopens it, `dir` is a private folder beside it. */
  database: TestDatabase;
}

/**
 * A fresh real database of `kind` with a store open on it, made before the tests of the
 * enclosing `describe` (or before each test, with `each: true`) and closed and dropped after:
 * `describe.each(TEST_BACKENDS)('… on $kind', ({ kind }) => { const { store } = useTestStore(kind); … })`.
 * `store` and `database` are stand-ins that forward to the current ones, so they can be
 * destructured at collection time, before the hook has run.
 */
export function useTestStore(kind: TestBackendKind, options: { each?: boolean } = {}): TestStore {
  let current: { store: Store; database: TestDatabase } | undefined;
  const before = options.each ? beforeEach : beforeAll;
  const after = options.each ? afterEach : afterAll;
  before(async () => {
    const database = await createTestDatabase(kind);
    try {
      current = { database, store: await createStore({ databaseUrl: database.databaseUrl }) };
    } catch (err) {
      await database.dispose();
      throw err;
    }
  });
  after(async () => {
    const done = current;
    current = undefined;
    try {
      await done?.store.close();
    } finally {
      await done?.database.dispose();
    }
  });
  return { store: forward(() => current?.store, kind), database: forward(() => current?.database, kind) };
}

/** An object that reads every property from `get()`'s value (methods bound to it). */
function forward<T extends object>(get: () => T | undefined, kind: string): T {
  const target = (): T => {
    const value = get();
    if (value === undefined) {
      throw new Error(
        `useTestStore('${kind}'): the store is open only inside tests and hooks of its describe`,
      );
    }
    return value;
  };
  return new Proxy({} as T, {
    get(_, prop) {
      const real = target();
      const value = Reflect.get(real, prop, real);
      return typeof value === 'function' ? value.bind(real) : value;
    },
    has: (_, prop) => Reflect.has(target(), prop),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_, prop) => Reflect.getOwnPropertyDescriptor(target(), prop),
  });
}
