import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { BorealisError } from '../errors.js';
import { digestsEqual, randomToken, sha256Hex } from './hashing.js';
import type { Database } from './schema.js';

export interface CreateAgentCredentialInput {
  name?: string | undefined;
  /** Agent identifiers this credential may announce (`*` globs allowed); empty or absent: any. */
  allowedIdentifiers?: readonly string[] | undefined;
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

export interface AgentCredentialRepository {
  create(input?: CreateAgentCredentialInput): Promise<CreatedAgentCredential>;
  /** The credential if the secret is right and it is not revoked; null otherwise, whatever the reason. */
  verify(clientId: string, clientSecret: string): Promise<VerifiedAgentCredential | null>;
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

export function createAgentCredentialRepository(db: Kysely<Database>): AgentCredentialRepository {
  return {
    async create(input = {}) {
      const name = validateName(input.name);
      const allowedIdentifiers = validateIdentifiers(input.allowedIdentifiers);
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
      if (typeof clientId !== 'string' || typeof clientSecret !== 'string') return null;
      if (clientId.length > 256 || clientSecret.length > 512) return null;
      const row = await db
        .selectFrom('agent_credentials')
        .select(['client_id', 'name', 'secret_hash', 'allowed_identifiers'])
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      const matches = digestsEqual(sha256Hex(clientSecret), row?.secret_hash ?? UNKNOWN_CLIENT_HASH);
      if (row === undefined || !matches) return null;
      return {
        clientId: row.client_id,
        name: row.name,
        allowedIdentifiers: parseIdentifiers(row.allowed_identifiers),
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
 * Whether a credential may announce `identifier`. An empty list allows any identifier; `*`
 * matches any run of characters (`prod-*` allows `prod-eu` and `prod-`), everything else is
 * literal and the whole identifier must match.
 */
export function isIdentifierAllowed(
  credential: { readonly allowedIdentifiers: readonly string[] },
  identifier: string,
): boolean {
  if (credential.allowedIdentifiers.length === 0) return true;
  return credential.allowedIdentifiers.some((pattern) => globToRegExp(pattern).test(identifier));
}

function globToRegExp(pattern: string): RegExp {
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

function validateIdentifiers(identifiers: unknown): string[] {
  if (identifiers === undefined || identifiers === null) return [];
  if (!Array.isArray(identifiers) || identifiers.length > MAX_IDENTIFIERS) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `Agent credential "allowedIdentifiers" must be an array of at most ${MAX_IDENTIFIERS} agent identifiers (or left out to allow any)`,
      { details: { field: 'allowedIdentifiers' } },
    );
  }
  identifiers.forEach((identifier, index) => {
    if (typeof identifier !== 'string' || !IDENTIFIER_PATTERN.test(identifier)) {
      throw new BorealisError(
        'BRL_ERR_BAD_REQUEST',
        `allowedIdentifiers[${index}] must be 1 to 128 characters of letters, digits, "_", ".", "-" or "*" (a glob, e.g. prod-*)`,
        { details: { field: `allowedIdentifiers[${index}]` } },
      );
    }
  });
  return [...new Set(identifiers as string[])];
}

function parseIdentifiers(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
}
