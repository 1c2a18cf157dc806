import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { databaseOf, type Store } from './store.js';

/**
 * Tests only (a `.test-util.ts`: not in `dist/`): the Kysely instance behind a store, for tests
 * that read rows the API never shows (hashes, sealed values) or damage them on purpose. Running
 * code goes through the store's repositories.
 */
export function rawDatabase(store: Store): Kysely<Database> {
  return databaseOf(store);
}
