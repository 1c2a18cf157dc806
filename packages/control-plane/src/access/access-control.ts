import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BorealisError } from '../errors.js';
import type { ApiTokenIdentity } from '../store/index.js';
import { grants, PERMISSIONS, type Permission, rolesHolding } from './roles.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What the caller's token must allow (see `Permission`). Every route under `/api/v1` declares
     * one; a route that does not is refused to everyone (403), and a test lists it by name.
     */
    permission?: Permission;
  }
  interface FastifyRequest {
    /** Who made the call (the API token's id, name and roles), for permissions and the audit log. */
    identity?: ApiTokenIdentity;
  }
}

/** Where the API lives: every route under it needs a token and a declared permission. */
export const API_PREFIX = '/api/v1/';

export interface RoutePermission {
  method: string;
  url: string;
  permission: Permission | undefined;
  /** Registered in the public scope: anyone may call it (see `api/scopes.ts`). */
  public?: boolean;
}

export interface AccessControl {
  /** Every route registered after install, with the permission it declared (for the route test). */
  readonly routes: readonly RoutePermission[];
}

/**
 * One hook decides who may call what in the scope it is installed in (the `/api/v1` scope, see
 * `api/scopes.ts`): the bearer token is looked up (revoked or unknown: 401,
 * which never says where a token file lives), then the route's declared permission is checked
 * against the token's roles (403 `BRL_ERR_FORBIDDEN` naming the roles that would do). Install it
 * before any route is registered.
 */
export function installAccessControl(
  app: FastifyInstance,
  deps: { verify(token: string): Promise<ApiTokenIdentity | null> },
): AccessControl {
  const routes: RoutePermission[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const permission = (route.config as { permission?: Permission } | undefined)?.permission;
    if (permission !== undefined && !PERMISSIONS.includes(permission)) {
      throw new Error(
        `route ${route.url} declares permission ${String(permission)}; use one of ${PERMISSIONS.join(', ')}`,
      );
    }
    for (const method of methods) routes.push({ method: String(method), url: route.url, permission });
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const route = req.is404 ? undefined : req.routeOptions.url;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const identity = m?.[1] ? await deps.verify(m[1]) : null;
    if (!identity) {
      throw new BorealisError(
        'BRL_ERR_UNAUTHORIZED',
        m
          ? 'Missing or invalid bearer token: this one is unknown or revoked. Ask an admin for a token (borealis tokens create NAME --role R), or use the one the control plane generated at first start (its start-up log says where), or BOREALIS_API_TOKEN'
          : 'Missing or invalid bearer token: send Authorization: Bearer <token> (a token from `borealis tokens create`, the one the control plane generated at first start, or BOREALIS_API_TOKEN)',
      );
    }
    req.identity = identity;
    // An unknown path gets the not-found answer (to a valid token only, so strangers learn
    // nothing), not a 403 about a permission nobody declared.
    if (route === undefined) return;
    const permission = req.routeOptions.config.permission;
    if (permission === undefined) {
      throw new BorealisError(
        'BRL_ERR_FORBIDDEN',
        `${req.method} ${route} declares no permission, so nobody may call it; this is a bug in Borealis: report it`,
        { details: { route } },
      );
    }
    if (!grants(identity.roles, permission)) throw forbidden(identity, rolesHolding(permission));
  });

  return { routes };
}

/** The 403 for a token whose roles do not allow something: names the roles that would. */
export function forbidden(
  identity: Pick<ApiTokenIdentity, 'name' | 'roles'>,
  needs: readonly string[],
  what?: string,
): BorealisError {
  const needsText = needs.length === 1 ? `the ${needs[0]} role` : `one of the roles ${needs.join(', ')}`;
  return new BorealisError(
    'BRL_ERR_FORBIDDEN',
    `${what ?? 'This'} needs ${needsText}; token "${identity.name}" has ${identity.roles.length ? identity.roles.join(', ') : 'no roles'}. Ask an admin for a token with ${needs.length === 1 ? 'that role' : 'one of them'} (borealis tokens create NAME --role ${needs[0]})`,
    { details: { requiredRoles: [...needs], roles: [...identity.roles] } },
  );
}
