import { BorealisError } from '../errors.js';
import type { SealedSecretRepository } from '../store/index.js';
import type { SecretKey } from './secret-key.js';

/** What anyone may see of a secret: never its value. */
export interface SecretMetadata {
  name: string;
  createdAt: number;
  updatedAt: number;
}

export interface PutSecretResult extends SecretMetadata {
  /** True when the secret did not exist before (the API answers 201 rather than 200). */
  created: boolean;
}

export interface SecretsRepository {
  /** Creates or replaces a secret. */
  put(name: string, value: string): Promise<PutSecretResult>;
  /** Every secret's metadata, by name. */
  list(): Promise<SecretMetadata[]>;
  /**
   * Decrypted values of the named secrets, for webhook rendering only; names that do not exist
   * are absent from the map (the caller decides whether that is an error).
   */
  getValues(names: Iterable<string>): Promise<Map<string, string>>;
  /** True if the secret existed. */
  delete(name: string): Promise<boolean>;
  /**
   * Throws `BRL_ERR_SECRET_KEY` if any stored secret was sealed with another key, so a changed
   * `BOREALIS_SECRET_KEY` is reported at start rather than at the first webhook.
   */
  checkKey(): Promise<void>;
}

export interface CreateSecretsRepositoryOptions {
  /** Where the sealed values are kept (`store.sealedSecrets`). */
  rows: SealedSecretRepository;
  key: SecretKey;
}

/** Names end up in templates (`{{secrets.NAME}}`) and URLs, so they stay plain. */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
/** Secrets are tokens and passwords; anything larger is a mistake (or an attempt to fill the disk). */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;

export function validateSecretName(name: unknown): string {
  if (typeof name !== 'string' || !SECRET_NAME_PATTERN.test(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 140)) : typeof name;
    throw new BorealisError(
      'BRL_ERR_SECRET_NAME',
      `Secret name ${shown} is not valid: use 1 to 128 letters, digits, "_", "." or "-" (e.g. github_token)`,
      { details: { field: 'name' } },
    );
  }
  return name;
}

export function validateSecretValue(value: unknown): string {
  if (typeof value !== 'string') {
    throw new BorealisError('BRL_ERR_BAD_REQUEST', 'Secret "value" must be a string', {
      details: { field: 'value' },
    });
  }
  if (value === '') {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      'Secret "value" is empty; an empty secret is almost always an unset variable, so it is refused',
      { details: { field: 'value' } },
    );
  }
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_VALUE_BYTES) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `Secret "value" is larger than ${MAX_SECRET_VALUE_BYTES} bytes; store a token or password, not a file`,
      { details: { field: 'value', maxBytes: MAX_SECRET_VALUE_BYTES } },
    );
  }
  return value;
}

export function createSecretsRepository({ rows, key }: CreateSecretsRepositoryOptions): SecretsRepository {
  function open(name: string, row: { ciphertext: string; key_id: string }): string {
    if (row.key_id !== key.id) {
      throw new BorealisError(
        'BRL_ERR_SECRET_KEY',
        `Secret "${name}" was sealed with another key (key id ${row.key_id}; the current key, from ${key.source === 'env' ? 'BOREALIS_SECRET_KEY' : 'the key file'}, has id ${key.id}): restore the key the secrets were stored with, or store the secret again`,
        { details: { secret: name, storedKeyId: row.key_id, currentKeyId: key.id } },
      );
    }
    const value = key.open(name, row.ciphertext);
    if (value === undefined) {
      throw new BorealisError(
        'BRL_ERR_SECRET_UNREADABLE',
        `Secret "${name}" failed its integrity check: the stored value was altered or damaged; store the secret again`,
        { details: { secret: name } },
      );
    }
    return value;
  }

  return {
    async put(name, value) {
      validateSecretName(name);
      validateSecretValue(value);
      const ciphertext = key.seal(name, value);
      // Insert-or-update in two portable statements (no dialect-specific "was it an insert?"),
      // retried in the rare case a concurrent delete lands between them.
      for (let attempt = 0; attempt < 3; attempt++) {
        const now = Date.now();
        const row = { name, ciphertext, key_id: key.id };
        if (await rows.insertIfAbsent(row, now))
          return { name, createdAt: now, updatedAt: now, created: true };
        const updated = await rows.reseal(row, now);
        if (updated !== undefined) return { name, ...updated, created: false };
      }
      throw new BorealisError(
        'BRL_ERR_CONFLICT',
        `Secret "${name}" is being changed concurrently; try again`,
      );
    },

    list: () => rows.list(),

    async getValues(names) {
      const wanted = [...new Set(names)].filter((name) => SECRET_NAME_PATTERN.test(name));
      const values = new Map<string, string>();
      if (wanted.length === 0) return values;
      for (const row of await rows.sealed(wanted)) values.set(row.name, open(row.name, row));
      return values;
    },

    delete: (name) => rows.delete(name),

    async checkKey() {
      const found = await rows.sealedWithOtherKey(key.id);
      if (found === undefined) return;
      const { example: other, count } = found;
      throw new BorealisError(
        'BRL_ERR_SECRET_KEY',
        `${count} stored secret(s), e.g. "${other.name}", were sealed with another key (key id ${other.key_id}) than the current one (key id ${key.id}, from ${key.source === 'env' ? 'BOREALIS_SECRET_KEY' : 'the key file'}): restore the original BOREALIS_SECRET_KEY or key file, or delete and store those secrets again`,
        { details: { storedKeyId: other.key_id, currentKeyId: key.id } },
      );
    },
  };
}
