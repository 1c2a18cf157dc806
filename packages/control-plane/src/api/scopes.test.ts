import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { RoutePermission } from '../access/index.js';
import { installErrorHandling } from './error-handling.js';
import { routeSchema } from './route-schema.js';
import { installScopes, type ScopeRoutes } from './scopes.js';

const ADMIN = { authorization: 'Bearer admin' };
let app: FastifyInstance | undefined;
let routes: readonly RoutePermission[] = [];

async function serverWith(scopes: Partial<ScopeRoutes>): Promise<FastifyInstance> {
  app = Fastify({ logger: false });
  installErrorHandling(app, { notFound: false });
  routes = await installScopes(app, {
    verify: async (t) => (t === 'admin' ? { id: 'a', name: 'root', roles: ['admin'] } : null),
    public: scopes.public ?? (() => {}),
    api: scopes.api ?? (() => {}),
  });
  return app;
}

const schema = routeSchema('things', 'A thing');

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('the public and /api/v1 scopes', () => {
  it('a public route answers without a token; an API route, known or not, asks for one first', async () => {
    const s = await serverWith({
      public: (pub) => {
        pub.get('/healthz', { schema }, async () => ({ status: 'ok' }));
      },
      api: (api) => {
        api.get('/api/v1/things', { schema, config: { permission: 'read' } }, async () => []);
      },
    });
    expect((await s.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await s.inject({ url: '/api/v1/things' })).statusCode).toBe(401);
    expect((await s.inject({ url: '/api/v1/things', headers: ADMIN })).statusCode).toBe(200);
    // Unknown paths, in the API or not, say nothing about what exists to a stranger.
    for (const url of ['/api/v1/nothing-here', '/healthzX']) {
      const stranger = await s.inject({ url });
      expect(stranger.statusCode, url).toBe(401);
      expect(stranger.json().error.code).toBe('BRL_ERR_UNAUTHORIZED');
      const known = await s.inject({ url, headers: ADMIN });
      expect(known.statusCode, url).toBe(404);
      expect(known.json().error.code).toBe('BRL_ERR_NOT_FOUND');
    }
  });

  it('lists every route with its permission, public ones marked', async () => {
    await serverWith({
      public: (pub) => {
        pub.get('/healthz', { schema }, async () => ({}));
      },
      api: (api) => {
        api.get('/api/v1/things', { schema, config: { permission: 'read' } }, async () => []);
      },
    });
    expect(routes.filter((r) => r.method === 'GET')).toEqual([
      { method: 'GET', url: '/healthz', permission: undefined, public: true },
      { method: 'GET', url: '/api/v1/things', permission: 'read' },
    ]);
  });

  it('fails closed: a route outside both scopes, a public route with a permission, an API route outside /api/v1', async () => {
    const s = await serverWith({});
    expect(() => s.get('/stray', { schema }, async () => ({}))).toThrow(
      /GET \/stray is registered outside the public and \/api\/v1 scopes/,
    );
    await expect(
      serverWith({
        public: (pub) => {
          pub.get('/x', { schema, config: { permission: 'read' } }, async () => ({}));
        },
      }),
    ).rejects.toThrow(/GET \/x declares a permission but is in the public scope/);
    await expect(
      serverWith({
        api: (api) => {
          api.get('/x', { schema, config: { permission: 'read' } }, async () => ({}));
        },
      }),
    ).rejects.toThrow(/GET \/x is in the \/api\/v1 scope but not under \/api\/v1\//);
  });
});
