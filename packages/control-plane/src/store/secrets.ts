import type { Kysely } from 'kysely';

export interface SecretsTable {
  name: string;
  /** `v1.<base64 nonce>.<base64 ciphertext+tag>`: AES-256-GCM with the name as associated data. */
  ciphertext: string;
  /** Fingerprint of the key that sealed this value, so a changed key is reported as such. */
  key_id: string;
  created_at: number;
  updated_at: number;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface SecretTables {
  secrets: SecretsTable;
}

/** A secret as stored: sealed bytes only. Sealing and opening are `secrets/`'s business. */
export interface SealedSecretRow {
  name: string;
  ciphertext: string;
  key_id: string;
}

/**
 * Rows of the `secrets` table. It never sees a value in clear: `secrets/` seals before `put` and
 * opens after `sealed`, so the key never reaches the store.
 */
export interface SealedSecretRepository {
  /** Inserts unless the name exists; true when this call inserted it. */
  insertIfAbsent(row: SealedSecretRow, now: number): Promise<boolean>;
  /** Replaces the sealed value of an existing secret; undefined when there is none. */
  reseal(row: SealedSecretRow, now: number): Promise<{ createdAt: number; updatedAt: number } | undefined>;
  /** Every secret's name and times, by name. */
  list(): Promise<Array<{ name: string; createdAt: number; updatedAt: number }>>;
  /** The sealed rows of the names given that exist. */
  sealed(names: readonly string[]): Promise<SealedSecretRow[]>;
  /** True if the secret existed. */
  delete(name: string): Promise<boolean>;
  /** The first (by name) secret sealed with a key other than `keyId`, and how many there are. */
  sealedWithOtherKey(keyId: string): Promise<{ example: SealedSecretRow; count: number } | undefined>;
}

export function createSealedSecretRepository(db: Kysely<SecretTables>): SealedSecretRepository {
  return {
    async insertIfAbsent(row, now) {
      const inserted = await db
        .insertInto('secrets')
        .values({ ...row, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning(['name'])
        .executeTakeFirst();
      return inserted !== undefined;
    },
    async reseal(row, now) {
      const updated = await db
        .updateTable('secrets')
        .set({ ciphertext: row.ciphertext, key_id: row.key_id, updated_at: now })
        .where('name', '=', row.name)
        .returning(['created_at', 'updated_at'])
        .executeTakeFirst();
      return updated && { createdAt: updated.created_at, updatedAt: updated.updated_at };
    },
    async list() {
      const rows = await db
        .selectFrom('secrets')
        .select(['name', 'created_at', 'updated_at'])
        .orderBy('name')
        .execute();
      return rows.map((row) => ({ name: row.name, createdAt: row.created_at, updatedAt: row.updated_at }));
    },
    async sealed(names) {
      if (names.length === 0) return [];
      return db
        .selectFrom('secrets')
        .select(['name', 'ciphertext', 'key_id'])
        .where('name', 'in', [...names])
        .execute();
    },
    async delete(name) {
      const result = await db.deleteFrom('secrets').where('name', '=', name).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    async sealedWithOtherKey(keyId) {
      const example = await db
        .selectFrom('secrets')
        .select(['name', 'ciphertext', 'key_id'])
        .where('key_id', '!=', keyId)
        .orderBy('name')
        .executeTakeFirst();
      if (example === undefined) return undefined;
      const { count } = await db
        .selectFrom('secrets')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('key_id', '!=', keyId)
        .executeTakeFirstOrThrow();
      return { example, count: Number(count) };
    },
  };
}
