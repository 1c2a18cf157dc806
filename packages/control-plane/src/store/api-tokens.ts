import { randomUUID } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Kysely } from 'kysely';
// The role rules only (roles.ts), not the access folder's door: access imports the store.
import { BuiltInRole, validateRoles, validateTokenName } from '../access/roles.js';
import { BorealisError } from '../errors.js';
import { digestsEqual, randomToken, sha256Hex } from './hashing.js';
import type { StoreLogger } from './logger.js';

export interface ApiTokensTable {
  id: string;
  /** Who, for the audit log: `bootstrap` for the generated token, or a name given at creation. */
  name: string;
  /** Hex SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  /** JSON array of role names: `admin`, `deployer`, `viewer`, or approver roles. */
  roles: string;
  created_at: number;
  revoked_at: number | null;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface ApiTokenTables {
  api_tokens: ApiTokensTable;
}

/** Who made an API call, as the audit log records it, and what they may do. */
export interface ApiTokenIdentity {
  /** The stored token's id; null for BOREALIS_API_TOKEN (configuration, never stored). */
  id: string | null;
  name: string;
  roles: string[];
}

export interface ApiTokenSummary {
  id: string;
  name: string;
  roles: string[];
  createdAt: number;
}

export interface CreatedApiToken extends ApiTokenSummary {
  /** The bearer token itself: returned once, never stored. */
  token: string;
}

export interface BootstrapTokenOptions {
  /** `BOREALIS_API_TOKEN`; an empty string counts as unset. */
  envToken?: string | undefined;
  /** Where the embedded default keeps its generated token, e.g. `./.borealis/api-token`. */
  tokenFile: string;
}

export type BootstrapTokenResult =
  | { source: 'env' }
  | { source: 'file-created'; tokenFile: string }
  | { source: 'file-reused'; tokenFile: string };

export interface ApiTokenRepository {
  /**
   * Makes sure some token can call the API. With `envToken`, that token is valid under the name
   * `env` for as long as this process runs with it (it is configuration, so it is kept in memory
   * and never persisted: changing the variable rotates it). Without it, the first start generates
   * a token, writes it to `tokenFile` (mode 0600) and stores its hash; later starts reuse the file.
   */
  ensureBootstrapToken(options: BootstrapTokenOptions): Promise<BootstrapTokenResult>;
  /**
   * A new token for one person, with roles; the token is shown only here. Name and roles are
   * validated (400 naming the field and the fix).
   */
  create(input: { name: unknown; roles: unknown }): Promise<CreatedApiToken>;
  /** Tokens that can call the API (never their secrets), oldest first. */
  list(): Promise<ApiTokenSummary[]>;
  /** The identity behind a bearer token, or null when it is unknown or revoked. */
  verifyApiToken(token: string): Promise<ApiTokenIdentity | null>;
  /** Revokes at once (the next request with it is a 401); the revoked token, or undefined. */
  revoke(id: string): Promise<ApiTokenSummary | undefined>;
}

/** Names are shown in the audit log; the env and bootstrap names are reserved. */
const ENV_TOKEN_NAME = 'env';
const BOOTSTRAP_TOKEN_NAME = 'bootstrap';
/** Longer inputs cannot be ours; refusing them early keeps hashing cost per request bounded. */
const MAX_TOKEN_LENGTH = 512;
const MIN_FILE_TOKEN_LENGTH = 16;

export function createApiTokenRepository(
  db: Kysely<ApiTokenTables>,
  logger?: StoreLogger,
): ApiTokenRepository {
  let envTokenHash: string | undefined;

  async function insert(
    name: string,
    roles: string[],
    tokenHash: string,
  ): Promise<{ id: string; createdAt: number }> {
    const id = randomUUID();
    const createdAt = Date.now();
    await db
      .insertInto('api_tokens')
      .values({
        id,
        name,
        roles: JSON.stringify(roles),
        token_hash: tokenHash,
        created_at: createdAt,
        revoked_at: null,
      })
      .onConflict((oc) => oc.column('token_hash').doNothing())
      .execute();
    return { id, createdAt };
  }

  return {
    async ensureBootstrapToken({ envToken, tokenFile }) {
      if (envToken !== undefined && envToken !== '') {
        if (envToken.length > MAX_TOKEN_LENGTH) {
          throw new BorealisError(
            'BRL_ERR_CONFIG',
            `BOREALIS_API_TOKEN is longer than ${MAX_TOKEN_LENGTH} characters; use a shorter random token (e.g. openssl rand -base64 32)`,
          );
        }
        envTokenHash = sha256Hex(envToken);
        return { source: 'env' };
      }
      const created = await createTokenFile(tokenFile);
      const token = created ?? (await readTokenFile(tokenFile, logger));
      await insert(BOOTSTRAP_TOKEN_NAME, [BuiltInRole.admin], sha256Hex(token));
      const row = await db
        .selectFrom('api_tokens')
        .select(['revoked_at'])
        .where('token_hash', '=', sha256Hex(token))
        .executeTakeFirst();
      if (row?.revoked_at != null) {
        logger?.warn(
          { tokenFile },
          'the API token in the token file has been revoked; delete the file and restart to generate a new one',
        );
      }
      return created === undefined
        ? { source: 'file-reused', tokenFile }
        : { source: 'file-created', tokenFile };
    },

    async create(input) {
      const name = validateTokenName(input.name);
      const roles = validateRoles(input.roles);
      const token = randomToken();
      const { id, createdAt } = await insert(name, roles, sha256Hex(token));
      return { id, name, roles, token, createdAt };
    },

    async list() {
      const rows = await db
        .selectFrom('api_tokens')
        .select(['id', 'name', 'roles', 'created_at'])
        .where('revoked_at', 'is', null)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        roles: parseRoles(r.roles),
        createdAt: Number(r.created_at),
      }));
    },

    async verifyApiToken(token) {
      if (token === '' || token.length > MAX_TOKEN_LENGTH) return null;
      const hash = sha256Hex(token);
      if (envTokenHash !== undefined && digestsEqual(hash, envTokenHash))
        return { id: null, name: ENV_TOKEN_NAME, roles: [BuiltInRole.admin] };
      // Looking up by hash reveals, through timing, at most something about the hash of a string
      // the caller chose, which says nothing about any stored token; the final comparison is
      // constant-time anyway.
      const row = await db
        .selectFrom('api_tokens')
        .select(['id', 'name', 'roles', 'token_hash'])
        .where('token_hash', '=', hash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (row === undefined || !digestsEqual(hash, row.token_hash)) return null;
      return { id: row.id, name: row.name, roles: parseRoles(row.roles) };
    },

    async revoke(id) {
      const row = await db
        .selectFrom('api_tokens')
        .select(['id', 'name', 'roles', 'created_at'])
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (!row) return undefined;
      const result = await db
        .updateTable('api_tokens')
        .set({ revoked_at: Date.now() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return undefined;
      return { id: row.id, name: row.name, roles: parseRoles(row.roles), createdAt: Number(row.created_at) };
    },
  };
}

/** Stored roles; a row that cannot be read grants nothing (fail closed). */
function parseRoles(text: string): string[] {
  try {
    const roles = JSON.parse(text) as unknown;
    return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Creates the token file atomically with its content (write a private temp file, then hard-link
 * it into place, which fails if the file exists), so two processes starting together never see a
 * half-written file or overwrite each other. Returns the new token, or undefined if the file
 * already existed.
 */
async function createTokenFile(tokenFile: string): Promise<string | undefined> {
  await mkdir(dirname(tokenFile), { recursive: true, mode: 0o700 });
  const token = randomToken();
  const temp = `${tokenFile}.${process.pid}.${randomToken(6)}.tmp`;
  await writeFile(temp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await chmod(temp, 0o600); // the umask may have narrowed it; never widened, but be explicit
    await link(temp, tokenFile);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new BorealisError(
      'BRL_ERR_CONFIG',
      `Cannot write the API token file ${tokenFile}: ${(err as Error).message}; make its directory writable or set BOREALIS_API_TOKEN`,
      { cause: err },
    );
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function readTokenFile(tokenFile: string, logger: StoreLogger | undefined): Promise<string> {
  const [content, info] = await Promise.all([readFile(tokenFile, 'utf8'), stat(tokenFile)]);
  if ((info.mode & 0o077) !== 0) {
    logger?.warn(
      { tokenFile, mode: (info.mode & 0o777).toString(8) },
      'the API token file is readable by other users; chmod 600 it',
    );
  }
  const token = content.trim();
  if (token.length < MIN_FILE_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH || /\s/.test(token)) {
    throw new BorealisError(
      'BRL_ERR_CONFIG',
      `The API token file ${tokenFile} does not hold a token (expected one line of ${MIN_FILE_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} characters); delete it to generate a new one, or set BOREALIS_API_TOKEN`,
      { details: { tokenFile } },
    );
  }
  return token;
}
