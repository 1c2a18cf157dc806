import { createHmac, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BorealisError } from '../errors.js';
import type { StoreLogger } from '../store/index.js';
import { openValue, sealValue } from './cipher.js';

const KEY_BYTES = 32;
const ENV_NAME = 'BOREALIS_SECRET_KEY';

export interface LoadSecretKeyOptions {
  /** `BOREALIS_SECRET_KEY`: 32 bytes as base64 or hex. An empty string counts as unset. */
  envKey?: string | undefined;
  /** Used when `envKey` is unset: read if present (exactly 32 raw bytes), else created (0600). */
  keyFile: string;
  logger?: StoreLogger | undefined;
}

/**
 * The key that seals secrets. The key bytes stay inside this object (a private field, and no
 * serialisation shows them), so passing it around or logging it by mistake leaks only its id.
 */
export class SecretKey {
  /** A fingerprint (HMAC of a fixed label), stored with each value to tell "wrong key" from "tampered". */
  readonly id: string;
  readonly source: 'env' | 'file';
  readonly #bytes: Buffer;

  constructor(bytes: Buffer, source: 'env' | 'file') {
    if (bytes.length !== KEY_BYTES) throw new RangeError(`a secret key is ${KEY_BYTES} bytes`);
    this.#bytes = Buffer.from(bytes);
    this.source = source;
    this.id = createHmac('sha256', this.#bytes).update('borealis secret key id').digest('hex').slice(0, 16);
  }

  seal(name: string, plaintext: string): string {
    return sealValue(this.#bytes, name, plaintext);
  }

  open(name: string, sealed: string): string | undefined {
    return openValue(this.#bytes, name, sealed);
  }

  toJSON(): { id: string; source: string } {
    return { id: this.id, source: this.source };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SecretKey { id: '${this.id}', source: '${this.source}' }`;
  }
}

/**
 * Loads the secret key from `BOREALIS_SECRET_KEY`, or else from the key file, creating it on
 * first start. Several replicas sharing PostgreSQL must share the key, so there set the
 * variable; a generated file only suits one process.
 */
export async function loadSecretKey(options: LoadSecretKeyOptions): Promise<SecretKey> {
  const envKey = options.envKey?.trim();
  if (envKey !== undefined && envKey !== '') return new SecretKey(decodeEnvKey(envKey), 'env');
  return new SecretKey(await readOrCreateKeyFile(options.keyFile, options.logger), 'file');
}

function decodeEnvKey(text: string): Buffer {
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) bytes = Buffer.from(text, 'base64');
  else if (/^[A-Za-z0-9_-]{43}$/.test(text)) bytes = Buffer.from(text, 'base64url');
  if (bytes?.length !== KEY_BYTES) {
    // Only the length is shown: the value itself must never reach a log.
    throw new BorealisError(
      'BRL_ERR_SECRET_KEY',
      `${ENV_NAME} must be ${KEY_BYTES} random bytes written as base64 (44 characters) or hex (64 characters), but it has ${text.length} characters that are neither; generate one with: openssl rand -base64 32`,
      { details: { variable: ENV_NAME } },
    );
  }
  return bytes;
}

async function readOrCreateKeyFile(keyFile: string, logger: StoreLogger | undefined): Promise<Buffer> {
  const created = await createKeyFile(keyFile);
  if (created !== undefined) {
    logger?.info({ keyFile }, `generated a secret key file; back it up, or set ${ENV_NAME} instead`);
    return created;
  }
  let bytes: Buffer;
  let mode: number;
  try {
    [bytes, mode] = await Promise.all([readFile(keyFile), stat(keyFile).then((s) => s.mode)]);
  } catch (cause) {
    throw new BorealisError(
      'BRL_ERR_SECRET_KEY',
      `Cannot read the secret key file ${keyFile}: ${(cause as Error).message}; fix its permissions or set ${ENV_NAME}`,
      { cause, details: { keyFile } },
    );
  }
  if (bytes.length !== KEY_BYTES) {
    throw new BorealisError(
      'BRL_ERR_SECRET_KEY',
      `The secret key file ${keyFile} holds ${bytes.length} bytes, not ${KEY_BYTES}; restore the original file (secrets sealed with it cannot be read otherwise), or set ${ENV_NAME}; delete the file only if no secrets are stored yet`,
      { details: { keyFile } },
    );
  }
  if ((mode & 0o077) !== 0) {
    logger?.warn(
      { keyFile, mode: (mode & 0o777).toString(8) },
      'the secret key file is readable by other users; chmod 600 it',
    );
  }
  return bytes;
}

/**
 * Writes a new key to a private temp file and hard-links it into place, which fails if the file
 * exists: two processes starting together never see a half-written key or overwrite each other.
 * Returns the new key, or undefined when the file already existed.
 */
async function createKeyFile(keyFile: string): Promise<Buffer | undefined> {
  const key = randomBytes(KEY_BYTES);
  const temp = `${keyFile}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
    await writeFile(temp, key, { mode: 0o600, flag: 'wx' });
    await chmod(temp, 0o600);
    await link(temp, keyFile);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new BorealisError(
      'BRL_ERR_SECRET_KEY',
      `Cannot create the secret key file ${keyFile}: ${(err as Error).message}; make its directory writable or set ${ENV_NAME}`,
      { cause: err, details: { keyFile } },
    );
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
