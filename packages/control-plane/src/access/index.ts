/**
 * Who may do what. People call the API with tokens (`POST /api/v1/tokens`), each with roles:
 * `admin`, `deployer`, `viewer`, or approver roles that a pause's `requiresRoles` names.
 *
 * The convention every route follows: declare `config: { permission: 'read' | 'deploy' |
 * 'admin' | 'approve' }` on each route of the `/api/v1` scope (`api/scopes.ts`; the few public
 * routes live in the public scope instead). One hook (`installAccessControl`), inside that scope,
 * authenticates and enforces it; a route without one is refused to everyone, and
 * `access-control.test.ts` walks every registered route and fails naming any that lack one.
 * `approve` routes are let through the door and judged by the engine against the waiting pause.
 */
export {
  type AccessControl,
  API_PREFIX,
  forbidden,
  installAccessControl,
  type RoutePermission,
} from './access-control.js';
export {
  approvalRefusal,
  BuiltInRole,
  grants,
  isRoleName,
  PERMISSIONS,
  Permission,
  RESERVED_TOKEN_NAMES,
  rolesHolding,
  validateRoles,
  validateTokenName,
} from './roles.js';
export { registerTokenRoutes } from './token-routes.js';
