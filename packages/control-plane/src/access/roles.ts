import { isRoleName } from '@borealis/deploy-spec';
import { BorealisError } from '../errors.js';

export { isRoleName };

/**
 * Roles people's API tokens carry. Three are built in; any other name is an approver role, which
 * grants nothing by itself except reading and approving the pauses whose `requiresRoles` name it.
 */
export const BuiltInRole = {
  /** Everything, including tokens, agent credentials, secrets and metric providers. */
  admin: 'admin',
  /** Start, cancel, roll back, roll forward, approve pauses that name no roles, and read. */
  deployer: 'deployer',
  /** Read. */
  viewer: 'viewer',
} as const;
export type BuiltInRole = (typeof BuiltInRole)[keyof typeof BuiltInRole];

/**
 * What a route needs, declared on every `/api/v1` route as `config: { permission }`:
 * - `read`: any valid token (every role reads);
 * - `deploy`: `deployer` or `admin`;
 * - `admin`: `admin`;
 * - `approve`: any valid token at the door; the engine then checks the waiting pause's
 *   `requiresRoles` (or, when it names none, `deployer`/`admin`), because only it knows which
 *   pause is waiting when the decision is applied.
 */
export const Permission = {
  read: 'read',
  deploy: 'deploy',
  admin: 'admin',
  approve: 'approve',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];
export const PERMISSIONS: readonly Permission[] = Object.values(Permission);

/** Roles that hold a permission (for the 403's "needs one of"). `approve` is judged later. */
export function rolesHolding(permission: Permission): string[] {
  switch (permission) {
    case 'admin':
      return [BuiltInRole.admin];
    case 'deploy':
      return [BuiltInRole.deployer, BuiltInRole.admin];
    case 'read':
    case 'approve':
      return ['any role'];
  }
}

export function grants(roles: readonly string[], permission: Permission): boolean {
  if (permission === 'read' || permission === 'approve') return roles.length > 0;
  return rolesHolding(permission).some((r) => roles.includes(r));
}

/**
 * Whether a token with `roles` may approve or reject a pause that requires `requiresRoles`:
 * `admin` always; otherwise one of the named roles; a pause that names none needs `deployer`.
 * Returns the roles that would do, for the 403, or null when allowed.
 */
export function approvalRefusal(roles: readonly string[], requiresRoles: readonly string[]): string[] | null {
  if (roles.includes(BuiltInRole.admin)) return null;
  const enough = requiresRoles.length > 0 ? [...requiresRoles] : [BuiltInRole.deployer];
  if (enough.some((r) => roles.includes(r))) return null;
  return [...enough, BuiltInRole.admin];
}

const MAX_ROLES = 32;

/** Validates a token's roles: a non-empty list of role names; duplicates dropped, order kept. */
export function validateRoles(value: unknown): string[] {
  const how = `roles must be a non-empty list of role names, e.g. ["deployer"] or ["viewer", "prod-approvers"]; built in: ${Object.values(BuiltInRole).join(', ')}; any other name is an approver role that a pause's requiresRoles can name`;
  if (!Array.isArray(value) || value.length === 0)
    throw new BorealisError('BRL_ERR_BAD_REQUEST', how, { details: { field: 'roles' } });
  if (value.length > MAX_ROLES)
    throw new BorealisError('BRL_ERR_BAD_REQUEST', `roles: at most ${MAX_ROLES} roles per token`, {
      details: { field: 'roles' },
    });
  const out: string[] = [];
  for (const [i, role] of value.entries()) {
    if (typeof role !== 'string' || !isRoleName(role)) {
      throw new BorealisError(
        'BRL_ERR_BAD_REQUEST',
        `roles[${i}] ${typeof role === 'string' ? JSON.stringify(role.slice(0, 80)) : `is a ${role === null ? 'null' : typeof role}, and`} is not a role name: use 1 to 64 ASCII letters, digits, spaces, '.', '_', ':', '@', '+', '/' or '-', starting with a letter or digit and not ending with a space (e.g. prod-approvers, "Organization Admin")`,
        { details: { field: `roles[${i}]` } },
      );
    }
    if (!out.includes(role)) out.push(role);
  }
  return out;
}

/** Token names are who the audit log says decided: printable, short, no spaces or control characters. */
const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
/** Reserved for the configured and generated tokens, so the audit log never confuses them. */
export const RESERVED_TOKEN_NAMES: readonly string[] = ['env', 'bootstrap'];

export function validateTokenName(value: unknown): string {
  if (typeof value !== 'string' || !TOKEN_NAME.test(value)) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `name ${typeof value === 'string' ? `${JSON.stringify(value.slice(0, 80))} ` : ''}is not a token name: use 1 to 64 letters, digits, '.', '_', '@', '+' or '-', starting with a letter or digit — usually the person's name, e.g. "alice" (the audit log shows it)`,
      { details: { field: 'name' } },
    );
  }
  if (RESERVED_TOKEN_NAMES.includes(value)) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `name "${value}" is reserved (env is BOREALIS_API_TOKEN, bootstrap the generated token); choose another`,
      { details: { field: 'name' } },
    );
  }
  return value;
}
