import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { BorealisError } from '../errors.js';
import { digestsEqual, randomToken, sha256Hex } from './hashing.js';

export interface AgentCredentialsTable {
  client_id: string;
  name: string;
  /** Hex SHA-256 of the client secret. */
  secret_hash: string;
  /** JSON array of agent identifiers or `*` globs; empty means any identifier. */
  allowed_identifiers: string;
  created_at: number;
  revoked_at: number | null;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface AgentCredentialTables {
  agent_credentials: AgentCredentialsTable;
}

export interface CreateAgentCredentialInput {
  name?: string | undefined;
  /**
   * Agent identifiers this credential may announce (`*` globs allowed). Required and not empty:
   * a credential for any identifier says so with `["*"]`.
   */
  allowedIdentifiers: readonly string[];
}

/** The answer to a create: the only time `clientSecret` exists outside the agent. */
export interface CreatedAgentCredential {
  clientId: string;
  clientSecret: string;
  name: string;
  allowedIdentifiers: string[];
  createdAt: number;
}

/** What a verified agent may do: the relay checks the announced identifier against it. */
export interface VerifiedAgentCredential {
  clientId: string;
  name: string;
  allowedIdentifiers: string[];
}

export interface AgentCredentialSummary {
  clientId: string;
  name: string;
  allowedIdentifiers: string[];
  createdAt: number;
}

/**
 * What a presented secret proves: `valid`, `revoked` (the secret is right but the credential was
 * revoked: only its holder learns that), or `invalid` (unknown id or wrong secret, told apart from
 * nothing else).
 */
export type AgentCredentialCheck =
  | { status: 'valid'; credential: VerifiedAgentCredential }
  | { status: 'revoked'; clientId: string }
  | { status: 'invalid' };

export interface AgentCredentialRepository {
  create(input: CreateAgentCredentialInput): Promise<CreatedAgentCredential>;
  /** The credential if the secret is right and it is not revoked; null otherwise, whatever the reason. */
  verify(clientId: string, clientSecret: string): Promise<VerifiedAgentCredential | null>;
  /** Like `verify`, but says `revoked` when the secret is right and the credential was revoked. */
  check(clientId: string, clientSecret: string): Promise<AgentCredentialCheck>;
  /**
   * The active credentials among `clientIds` (no secret needed): how live sessions are checked
   * again after they registered, on a revocation and periodically. Missing from the map: revoked
   * or unknown.
   */
  active(clientIds: readonly string[]): Promise<Map<string, VerifiedAgentCredential>>;
  /** Replaces an active credential's identifiers; null if there is no active credential by that id. */
  setAllowedIdentifiers(
    clientId: string,
    allowedIdentifiers: readonly string[],
  ): Promise<AgentCredentialSummary | null>;
  /** Active credentials, oldest first, never with secrets. */
  list(): Promise<AgentCredentialSummary[]>;
  /** True if an active credential was revoked; agents using it can no longer connect. */
  revoke(clientId: string): Promise<boolean>;
}

const CLIENT_ID_PREFIX = 'agent_';
const MAX_NAME_LENGTH = 128;
const MAX_IDENTIFIERS = 100;
/** Identifiers as agents announce them, plus `*` for globs. */
const IDENTIFIER_PATTERN = /^[A-Za-z0-9_.*-]{1,128}$/;
/** Compared against when the client id is unknown, so that case costs the same as a wrong secret. */
const UNKNOWN_CLIENT_HASH = sha256Hex(randomToken());

export function createAgentCredentialRepository(
  db: Kysely<AgentCredentialTables>,
): AgentCredentialRepository {
  async function check(clientId: string, clientSecret: string): Promise<AgentCredentialCheck> {
    if (typeof clientId !== 'string' || typeof clientSecret !== 'string') return { status: 'invalid' };
    if (clientId.length > 256 || clientSecret.length > 512) return { status: 'invalid' };
    const row = await db
      .selectFrom('agent_credentials')
      .select(['client_id', 'name', 'secret_hash', 'allowed_identifiers', 'revoked_at'])
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    const matches = digestsEqual(sha256Hex(clientSecret), row?.secret_hash ?? UNKNOWN_CLIENT_HASH);
    if (row === undefined || !matches) return { status: 'invalid' };
    if (row.revoked_at !== null) return { status: 'revoked', clientId: row.client_id };
    return {
      status: 'valid',
      credential: {
        clientId: row.client_id,
        name: row.name,
        allowedIdentifiers: parseIdentifiers(row.allowed_identifiers),
      },
    };
  }

  return {
    async create(input) {
      const name = validateName(input?.name);
      const allowedIdentifiers = validateIdentifiers(input?.allowedIdentifiers);
      const clientId = `${CLIENT_ID_PREFIX}${randomBytes(12).toString('hex')}`;
      const clientSecret = randomToken();
      const createdAt = Date.now();
      await db
        .insertInto('agent_credentials')
        .values({
          client_id: clientId,
          name: name ?? clientId,
          secret_hash: sha256Hex(clientSecret),
          allowed_identifiers: JSON.stringify(allowedIdentifiers),
          created_at: createdAt,
          revoked_at: null,
        })
        .execute();
      return { clientId, clientSecret, name: name ?? clientId, allowedIdentifiers, createdAt };
    },

    async verify(clientId, clientSecret) {
      const checked = await check(clientId, clientSecret);
      return checked.status === 'valid' ? checked.credential : null;
    },

    check,

    async active(clientIds) {
      const out = new Map<string, VerifiedAgentCredential>();
      const unique = [...new Set(clientIds)];
      // Chunks keep the IN list far below either database's parameter limit.
      for (let i = 0; i < unique.length; i += 500) {
        const rows = await db
          .selectFrom('agent_credentials')
          .select(['client_id', 'name', 'allowed_identifiers'])
          .where('client_id', 'in', unique.slice(i, i + 500))
          .where('revoked_at', 'is', null)
          .execute();
        for (const row of rows) {
          out.set(row.client_id, {
            clientId: row.client_id,
            name: row.name,
            allowedIdentifiers: parseIdentifiers(row.allowed_identifiers),
          });
        }
      }
      return out;
    },

    async setAllowedIdentifiers(clientId, identifiers) {
      const allowedIdentifiers = validateIdentifiers(identifiers);
      const result = await db
        .updateTable('agent_credentials')
        .set({ allowed_identifiers: JSON.stringify(allowedIdentifiers) })
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return null;
      const row = await db
        .selectFrom('agent_credentials')
        .select(['client_id', 'name', 'allowed_identifiers', 'created_at'])
        .where('client_id', '=', clientId)
        .executeTakeFirstOrThrow();
      return {
        clientId: row.client_id,
        name: row.name,
        allowedIdentifiers: parseIdentifiers(row.allowed_identifiers),
        createdAt: row.created_at,
      };
    },

    async list() {
      const rows = await db
        .selectFrom('agent_credentials')
        .select(['client_id', 'name', 'allowed_identifiers', 'created_at'])
        .where('revoked_at', 'is', null)
        .orderBy('created_at')
        .orderBy('client_id')
        .execute();
      return rows.map((row) => ({
        clientId: row.client_id,
        name: row.name,
        allowedIdentifiers: parseIdentifiers(row.allowed_identifiers),
        createdAt: row.created_at,
      }));
    },

    async revoke(clientId) {
      const result = await db
        .updateTable('agent_credentials')
        .set({ revoked_at: Date.now() })
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}

/**
 * Whether a credential may announce `identifier`. `*` matches any run of characters (`prod-*`
 * allows `prod-eu` and `prod-`), everything else is literal, case and all, and the whole
 * identifier must match. An empty list allows nothing: credentials stored before identifiers
 * were required have one, and fail closed until they are given identifiers.
 */
export function isIdentifierAllowed(
  credential: { readonly allowedIdentifiers: readonly string[] },
  identifier: string,
): boolean {
  return credential.allowedIdentifiers.some((pattern) => globToRegExp(pattern).test(identifier));
}

/** A credential with a `*` in any pattern serves identifiers nobody listed one by one. */
export function isWildcardCredential(credential: {
  readonly allowedIdentifiers: readonly string[];
}): boolean {
  return credential.allowedIdentifiers.some((pattern) => pattern.includes('*'));
}

/**
 * Compiled patterns, by pattern. The credential guard checks every live session every sweep (2 s):
 * at 20,000 sessions, compiling each session's patterns again was most of the sweep's work. Bounded
 * (cleared when full); patterns are at most 128 characters and a credential has at most 100.
 */
const compiledGlobs = new Map<string, RegExp>();
const MAX_COMPILED_GLOBS = 1_000;

function globToRegExp(pattern: string): RegExp {
  let re = compiledGlobs.get(pattern);
  if (re === undefined) {
    if (compiledGlobs.size >= MAX_COMPILED_GLOBS) compiledGlobs.clear();
    re = compileGlob(pattern);
    compiledGlobs.set(pattern, re);
  }
  return re;
}

function compileGlob(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

function validateName(name: unknown): string | undefined {
  if (name === undefined || name === null) return undefined;
  if (typeof name !== 'string' || name.trim() === '' || name.trim().length > MAX_NAME_LENGTH) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `Agent credential "name" must be a string of 1 to ${MAX_NAME_LENGTH} characters (or left out)`,
      { details: { field: 'name' } },
    );
  }
  return name.trim();
}

/** How to say what is missing, in every message about it. */
export const ALLOWED_IDENTIFIERS_HOW =
  'list the agent identifiers this credential may serve, e.g. {"name": "eu-agents", "allowedIdentifiers": ["prod-eu"]} (CLI: --identifier prod-eu, repeatable); globs such as "prod-*" are allowed, and a credential for every identifier must say so with ["*"]';

export function validateIdentifiers(identifiers: unknown): string[] {
  if (identifiers === undefined || identifiers === null) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `Agent credential "allowedIdentifiers" is required: ${ALLOWED_IDENTIFIERS_HOW}`,
      { details: { field: 'allowedIdentifiers' } },
    );
  }
  if (!Array.isArray(identifiers) || identifiers.length > MAX_IDENTIFIERS) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `Agent credential "allowedIdentifiers" must be an array of 1 to ${MAX_IDENTIFIERS} agent identifiers: ${ALLOWED_IDENTIFIERS_HOW}`,
      { details: { field: 'allowedIdentifiers' } },
    );
  }
  if (identifiers.length === 0) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `Agent credential "allowedIdentifiers" is empty: ${ALLOWED_IDENTIFIERS_HOW}`,
      { details: { field: 'allowedIdentifiers' } },
    );
  }
  identifiers.forEach((identifier, index) => {
    if (typeof identifier !== 'string' || !IDENTIFIER_PATTERN.test(identifier)) {
      throw new BorealisError(
        'BRL_ERR_BAD_REQUEST',
        `allowedIdentifiers[${index}] ${describeValue(identifier)} is not an agent identifier: use 1 to 128 of the ASCII characters A-Z a-z 0-9 "_" "." "-", or "*" as a glob (e.g. prod-*); no spaces, no other letters`,
        { details: { field: `allowedIdentifiers[${index}]` } },
      );
    }
  });
  return [...new Set(identifiers as string[])];
}

function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : `(${typeof value})`;
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function parseIdentifiers(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
}
