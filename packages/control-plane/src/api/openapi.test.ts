import SwaggerParser from '@apidevtools/swagger-parser';
import Fastify from 'fastify';
import type { OpenAPIV3 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeTestControlPlanes, startTestControlPlane } from '../../../../test/kit/control-plane.js';
import type { ControlPlane } from '../server.js';
import { installOpenApi, undocumentedRoutes } from './openapi.js';
import { routeSchema } from './route-schema.js';

const TOKEN = 'openapi-test-token-0123456789';
let cp: ControlPlane;
let doc: OpenAPIV3.Document;

beforeAll(async () => {
  ({ cp } = await startTestControlPlane({ apiToken: TOKEN }));
  const res = await fetch(`${cp.url}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenAPIV3.Document;
});
afterAll(closeTestControlPlanes);

describe('GET /api/v1/openapi.json', () => {
  it('is a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    // Throws with the first problem when the document is not valid OpenAPI.
    await SwaggerParser.validate(structuredClone(doc) as OpenAPIV3.Document);
  });

  it('covers every registered route: each declares its schema, and the document has it', () => {
    const api = cp.routeSchemas.filter((r) => r.schema?.hide !== true);
    expect(api.length).toBeGreaterThan(25);
    const problems = undocumentedRoutes(cp.routeSchemas, doc);
    expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
  });

  it('describes parameters and bodies from the same schemas fastify validates with', () => {
    const rollback = doc.paths['/api/v1/applications/{name}/rollback']?.post as OpenAPIV3.OperationObject;
    expect(rollback.parameters).toEqual([
      expect.objectContaining({ in: 'path', name: 'name', required: true }),
    ]);
    const body = (rollback.requestBody as OpenAPIV3.RequestBodyObject).content['application/json']
      ?.schema as OpenAPIV3.SchemaObject;
    expect(body.required).toEqual(['environment']);
    const list = doc.paths['/api/v1/deployments']?.get as OpenAPIV3.OperationObject;
    expect((list.parameters as OpenAPIV3.ParameterObject[]).map((p) => p.name).sort()).toEqual([
      'application',
      'idPrefix',
      'limit',
      'since',
      'status',
    ]);
  });

  it('needs a token like the rest of the API', async () => {
    expect((await fetch(`${cp.url}/api/v1/openapi.json`)).status).toBe(401);
  });
});

describe('the coverage check', () => {
  it('refuses, at registration, a route added without a schema, saying how to add one', async () => {
    const app = Fastify();
    await installOpenApi(app);
    app.get('/api/v1/described', { schema: routeSchema('things', 'A described thing') }, async () => ({}));
    app.get('/hidden', { schema: { hide: true } }, async () => ({}));
    expect(() => app.get('/api/v1/forgotten/:id', async () => ({}))).toThrow(
      /GET \/api\/v1\/forgotten\/:id declares no schema with a summary: add `schema: routeSchema\('<tag>', '<what it does>'/,
    );
    await app.close();
  });

  it('names a route the document lacks or that slipped past registration', () => {
    const problems = undocumentedRoutes(
      [
        { method: 'GET', url: '/api/v1/described', schema: { tags: ['t'], summary: 's' } },
        { method: 'POST', url: '/api/v1/forgotten/:id', schema: undefined },
      ],
      { paths: {} },
    );
    expect(problems).toEqual([
      'GET /api/v1/described is missing from /api/v1/openapi.json (as get /api/v1/described)',
      expect.stringContaining('POST /api/v1/forgotten/:id declares no schema with a summary'),
    ]);
  });
});
