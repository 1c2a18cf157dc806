import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { SERVER_VERSION } from '../program-args.js';
import { routeSchema } from './route-schema.js';

export interface RegisteredRoute {
  method: string;
  url: string;
  /** What the route declared as `schema` (undefined: nothing). */
  schema: Record<string, unknown> | undefined;
}

/**
 * The API described: every route's fastify schema, as OpenAPI 3 at `/api/v1/openapi.json`
 * (`registerOpenApiRoute`). Call before any route is added (it watches them being added); returns
 * the list of routes,
 * which `openapi.test.ts` checks against the document.
 */
export async function installOpenApi(app: FastifyInstance): Promise<RegisteredRoute[]> {
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (r) => {
    // Fail at registration, where the author sees it, not in a test they may not run.
    const schema = r.schema as Record<string, unknown> | undefined;
    if (schema?.hide !== true && (typeof schema?.summary !== 'string' || !Array.isArray(schema?.tags)))
      throw new Error(
        `${[r.method].flat().join(',')} ${r.url} declares no schema with a summary: add \`schema: routeSchema('<tag>', '<what it does>', { params, querystring, body })\` to its route options (packages/control-plane/src/api/route-schema.ts), or \`schema: { hide: true }\` if it is not part of the API`,
      );
    for (const method of [r.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: r.url, schema: r.schema as Record<string, unknown> | undefined });
    }
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Borealis control plane',
        version: SERVER_VERSION,
        description:
          'Deployments gated on webhooks that call back. JSON over HTTP with `Authorization: Bearer <token>`; every error is `{"error": {"code", "message"}}` (docs/errors.md).',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
  });
  return routes;
}

/** `GET /api/v1/openapi.json`, in the scope that asks for a token (the document is the whole API). */
export function registerOpenApiRoute(api: FastifyInstance): void {
  api.get(
    '/api/v1/openapi.json',
    {
      config: { permission: 'read' },
      schema: routeSchema('operations', 'This document: the API as OpenAPI 3'),
    },
    async () => api.swagger(),
  );
}

/**
 * What is missing from the API description: each route (not hidden with `schema: { hide: true }`)
 * that declares no schema with a summary, or that the document lacks. One line per route, with
 * how to fix it.
 */
export function undocumentedRoutes(
  routes: readonly RegisteredRoute[],
  doc: { paths?: Record<string, Record<string, unknown>> },
): string[] {
  const problems: string[] = [];
  for (const r of routes) {
    if (r.schema?.hide === true) continue;
    const where = `${r.method} ${r.url}`;
    if (!r.schema || typeof r.schema.summary !== 'string' || !Array.isArray(r.schema.tags)) {
      problems.push(
        `${where} declares no schema with a summary: add \`schema: routeSchema('<tag>', '<what it does>', { params, querystring, body })\` to its route options (packages/control-plane/src/api/route-schema.ts), or \`schema: { hide: true }\` if it is not part of the API`,
      );
      continue;
    }
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    if (!doc.paths?.[path]?.[r.method.toLowerCase()])
      problems.push(`${where} is missing from /api/v1/openapi.json (as ${r.method.toLowerCase()} ${path})`);
  }
  return problems;
}
