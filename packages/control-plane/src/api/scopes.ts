import type { FastifyInstance } from 'fastify';
import { API_PREFIX, installAccessControl, type RoutePermission } from '../access/index.js';
import type { ApiTokenIdentity } from '../store/index.js';
import { installNotFound } from './error-handling.js';

export interface ScopeRoutes {
  /** Routes anyone may call: probes, metrics, callbacks (their token is in the path), the web UI's files. */
  public(scope: FastifyInstance): void;
  /** The API: every route under `/api/v1`, each declaring the permission its caller's token needs. */
  api(scope: FastifyInstance): void;
}

/**
 * The two doors of the HTTP server, as fastify scopes: a public one, and the `/api/v1` one whose
 * `onRequest` hook checks the bearer token and the route's declared permission (see `access/`).
 * Public is where a route is registered, never a path spelling, and fails closed: a route added
 * outside both scopes, a public route that declares a permission, or an API route outside
 * `/api/v1` stops the start. Unknown paths are answered in the API scope (a token first, so
 * strangers learn nothing about which paths exist; then 404). Returns every route with its
 * permission, public ones marked (a test walks them).
 */
export async function installScopes(
  app: FastifyInstance,
  deps: { verify(token: string): Promise<ApiTokenIdentity | null> } & ScopeRoutes,
): Promise<readonly RoutePermission[]> {
  const routes: RoutePermission[] = [];
  const where = (r: { method: string | string[]; url: string }) => `${[r.method].flat().join(',')} ${r.url}`;
  app.addHook('onRoute', function (this: FastifyInstance, r) {
    if (this === app)
      throw new Error(
        `${where(r)} is registered outside the public and /api/v1 scopes: register it in one of them (installScopes in server.ts)`,
      );
  });
  await app.register(async (pub) => {
    pub.addHook('onRoute', (r) => {
      if ((r.config as { permission?: unknown } | undefined)?.permission !== undefined)
        throw new Error(
          `${where(r)} declares a permission but is in the public scope, where nobody checks it: register it in the /api/v1 scope`,
        );
      for (const method of [r.method].flat())
        routes.push({ method, url: r.url, permission: undefined, public: true });
    });
    deps.public(pub);
  });
  let access: { routes: readonly RoutePermission[] } = { routes: [] };
  await app.register(async (api) => {
    api.addHook('onRoute', (r) => {
      if (!r.url.startsWith(API_PREFIX))
        throw new Error(
          `${where(r)} is in the /api/v1 scope but not under ${API_PREFIX}: register it in the public scope, or move it under ${API_PREFIX}`,
        );
    });
    access = installAccessControl(api, deps);
    installNotFound(api);
    deps.api(api);
  });
  return [...routes, ...access.routes];
}
