import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeTestControlPlanes, startTestControlPlane } from '../../../../test/kit/control-plane.js';
import { installErrorHandling } from '../api/error-handling.js';
import { type ControlPlane, createControlPlane } from '../server.js';
import { API_PREFIX, installAccessControl } from './index.js';

const ADMIN = 'access-admin-token-0123456789';

let cp: ControlPlane;

async function call(
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(cp.url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function tokenWith(name: string, roles: string[]): Promise<string> {
  const res = await call(ADMIN, 'POST', '/api/v1/tokens', { name, roles });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.token as string;
}

beforeAll(async () => {
  ({ cp } = await startTestControlPlane({ apiToken: ADMIN }));
});
afterAll(closeTestControlPlanes);

describe('every API route declares its permission', () => {
  it('walks every registered route and names any under /api/v1 without one', () => {
    const api = cp.routes.filter((r) => r.url.startsWith(API_PREFIX) && r.method !== 'HEAD');
    // Enough routes to mean the walk saw the real table (tokens, audit, deployments, agents...).
    expect(api.length).toBeGreaterThan(15);
    const missing = api.filter((r) => r.permission === undefined).map((r) => `${r.method} ${r.url}`);
    expect(missing, `routes without config.permission: ${missing.join(', ')}`).toEqual([]);
    // Outside the API too: a route is public by its scope, or it declares a permission.
    const others = cp.routes
      .filter((r) => r.permission === undefined && !r.public)
      .map((r) => `${r.method} ${r.url}`);
    expect(others, `routes neither public nor with a permission: ${others.join(', ')}`).toEqual([]);
  });

  it('a public route is public by the route matched, whatever the path spelling', async () => {
    for (const path of [
      '/healthz/../api/v1/tokens',
      '/callbacks/../api/v1/tokens',
      '/ui/..%2f..%2fapi/v1/tokens',
      '/metrics/%2e%2e/api/v1/audit',
      '/healthzX',
    ]) {
      // Raw HTTP: nothing on the client side resolves the dot segments.
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(cp.url).port), '127.0.0.1', () =>
          socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        );
        let data = '';
        socket.on('data', (c: Buffer) => {
          data += c.toString();
        });
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(answer, path).not.toMatch(/"tokens"\s*:/);
      expect(answer, path).not.toMatch(/"entries"\s*:/);
      expect(answer.split('\r\n')[0], path).toMatch(/ (401|404) /);
    }
  });

  it('admin-only routes are the ones that change who may do what or hold secrets', () => {
    const admin = cp.routes
      .filter((r) => r.permission === 'admin' && r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url}`);
    for (const route of [
      'POST /api/v1/tokens',
      'GET /api/v1/tokens',
      'DELETE /api/v1/tokens/:id',
      'POST /api/v1/agent-credentials',
      'DELETE /api/v1/agent-credentials/:clientId',
      'PUT /api/v1/secrets/:name',
      'DELETE /api/v1/secrets/:name',
    ]) {
      expect(admin).toContain(route);
    }
  });

  it('refuses a route that declares none to everyone, admin included (fail closed)', async () => {
    const app = Fastify({ logger: false });
    installErrorHandling(app);
    const access = installAccessControl(app, {
      verify: async (t) => (t === 'admin' ? { id: 'a', name: 'root', roles: ['admin'] } : null),
    });
    app.get('/api/v1/forgotten', async () => ({ leaked: true }));
    app.get('/api/v1/declared', { config: { permission: 'admin' } }, async () => ({ ok: true }));
    await app.ready();
    expect(access.routes.find((r) => r.url === '/api/v1/forgotten')?.permission).toBeUndefined();
    const forgotten = await app.inject({
      url: '/api/v1/forgotten',
      headers: { authorization: 'Bearer admin' },
    });
    expect(forgotten.statusCode).toBe(403);
    expect(forgotten.json().error.code).toBe('BRL_ERR_FORBIDDEN');
    expect(forgotten.json().error.message).toContain('declares no permission');
    expect(forgotten.body).not.toContain('leaked');
    const declared = await app.inject({
      url: '/api/v1/declared',
      headers: { authorization: 'Bearer admin' },
    });
    expect(declared.statusCode).toBe(200);
    // An unknown path is a 404, not a 403 about a permission.
    const unknown = await app.inject({
      url: '/api/v1/nothing-here',
      headers: { authorization: 'Bearer admin' },
    });
    expect(unknown.statusCode).toBe(404);
    await app.close();
  });

  it('refuses to register a route that declares a permission that does not exist', async () => {
    const app = Fastify({ logger: false });
    installAccessControl(app, { verify: async () => null });
    expect(() =>
      app.get('/api/v1/typo', { config: { permission: 'reed' as 'read' } }, async () => ({})),
    ).toThrow(/declares permission reed/);
    await app.close();
  });
});

describe('roles', () => {
  it('viewer reads but cannot start, cancel, or touch tokens, secrets or credentials; each 403 names the role', async () => {
    const viewer = await tokenWith('vera', ['viewer']);
    expect((await call(viewer, 'GET', '/api/v1/deployments')).status).toBe(200);
    expect((await call(viewer, 'GET', '/api/v1/agents')).status).toBe(200);
    expect((await call(viewer, 'GET', '/api/v1/audit')).status).toBe(200);
    const start = await call(viewer, 'POST', '/api/v1/deployments', { deployFile: 'application: x\n' });
    expect(start.status).toBe(403);
    expect(start.json.error.code).toBe('BRL_ERR_FORBIDDEN');
    expect(start.json.error.message).toContain('deployer');
    expect(start.json.error.requiredRoles).toEqual(['deployer', 'admin']);
    for (const [method, path, body] of [
      ['POST', '/api/v1/tokens', { name: 'mallory', roles: ['admin'] }],
      ['GET', '/api/v1/tokens', undefined],
      // The HEAD route fastify adds beside each GET carries the GET's permission.
      ['HEAD', '/api/v1/tokens', undefined],
      ['PUT', '/api/v1/secrets/x', { value: 'v' }],
      ['GET', '/api/v1/secrets', undefined],
      ['POST', '/api/v1/agent-credentials', { name: 'x' }],
      ['GET', '/api/v1/agent-credentials', undefined],
      ['POST', '/api/v1/agents/any/probe', { url: 'http://x/' }],
    ] as const) {
      const res = await call(viewer, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      if (method === 'HEAD') continue; // no body to read
      expect(res.json.error.requiredRoles, `${method} ${path}`).toEqual(['admin']);
      expect(res.json.error.message).toContain('the admin role');
    }
    const cancel = await call(viewer, 'POST', '/api/v1/deployments/some-id/cancel', {});
    expect(cancel.status).toBe(403);
  });

  it('an approver role alone reads, and cannot start', async () => {
    const approver = await tokenWith('paula', ['prod-approvers']);
    expect((await call(approver, 'GET', '/api/v1/deployments')).status).toBe(200);
    expect((await call(approver, 'POST', '/api/v1/deployments', { deployFile: 'x' })).status).toBe(403);
  });

  it('deployer starts; admin (BOREALIS_API_TOKEN) may do everything', async () => {
    const deployer = await tokenWith('dan', ['deployer']);
    const started = await call(deployer, 'POST', '/api/v1/deployments', {
      deployFile:
        'application: access-app\nmanifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]\ntargets:\n  dev: {}\n',
    });
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    expect((await call(deployer, 'GET', '/api/v1/tokens')).status).toBe(403);
    expect((await call(ADMIN, 'GET', '/api/v1/tokens')).status).toBe(200);
  });
});

describe('tokens', () => {
  it('creates a token shown once (not cacheable), lists without secrets, revokes at once', async () => {
    const created = await call(ADMIN, 'POST', '/api/v1/tokens', {
      name: 'alice',
      roles: ['deployer', 'viewer'],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(created.json).sort()).toEqual(['createdAt', 'id', 'name', 'roles', 'token']);
    expect(created.json).toMatchObject({ name: 'alice', roles: ['deployer', 'viewer'] });
    const token = created.json.token as string;
    expect(token.length).toBeGreaterThanOrEqual(40);

    const list = await call(ADMIN, 'GET', '/api/v1/tokens');
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.json)).not.toContain(token);
    expect(list.json.tokens.find((t: { id: string }) => t.id === created.json.id)).toEqual({
      id: created.json.id,
      name: 'alice',
      roles: ['deployer', 'viewer'],
      createdAt: created.json.createdAt,
    });

    expect((await call(token, 'GET', '/api/v1/deployments')).status).toBe(200);
    expect((await call(ADMIN, 'DELETE', `/api/v1/tokens/${created.json.id}`)).status).toBe(204);
    const after = await call(token, 'GET', '/api/v1/deployments');
    expect(after.status).toBe(401);
    expect(after.json.error.message).toContain('revoked');
    expect((await call(ADMIN, 'DELETE', `/api/v1/tokens/${created.json.id}`)).status).toBe(404);
    expect(
      (await call(ADMIN, 'GET', '/api/v1/tokens')).json.tokens.map((t: { id: string }) => t.id),
    ).not.toContain(created.json.id);
  });

  it('refuses bad names, roles and extra fields with a 400 naming the field', async () => {
    for (const [body, needle] of [
      [{ name: 'ok' }, 'roles'],
      [{ name: 'ok', roles: [] }, 'roles'],
      [{ name: 'ok', roles: ['ends with space '] }, 'roles[0]'],
      [{ roles: ['viewer'] }, 'name'],
      [{ name: 'a\u001b]0;owned\u0007', roles: ['viewer'] }, 'name'],
      [{ name: 'env', roles: ['viewer'] }, 'reserved'],
      [{ name: 'ok', roles: ['viewer'], token: 'chosen-by-me' }, 'Unknown field'],
      [['not', 'an', 'object'], 'JSON object'],
    ] as const) {
      const res = await call(ADMIN, 'POST', '/api/v1/tokens', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe('BRL_ERR_BAD_REQUEST');
      expect(res.json.error.message, JSON.stringify(body)).toContain(needle);
    }
  });

  it('token changes are in the audit log, without the token', async () => {
    const created = await call(ADMIN, 'POST', '/api/v1/tokens', { name: 'audited', roles: ['viewer'] });
    await call(ADMIN, 'DELETE', `/api/v1/tokens/${created.json.id}`);
    const audit = await call(ADMIN, 'GET', '/api/v1/audit?actor=env&limit=1000');
    const mine = audit.json.entries.filter(
      (e: { details: { tokenId?: string } }) => e.details.tokenId === created.json.id,
    );
    expect(mine.map((e: { action: string }) => e.action).sort()).toEqual(['token.create', 'token.revoke']);
    expect(mine[0]).toMatchObject({ actor: 'env', tokenId: null, source: '127.0.0.1' });
    expect(JSON.stringify(audit.json)).not.toContain(created.json.token);
  });
});

describe('unauthenticated answers', () => {
  it('never name a file path, with a generated token file or without', async () => {
    const fileDir = mkdtempSync(join(tmpdir(), 'brl-access-file-'));
    const withFile = await createControlPlane({
      port: 0,
      dataDir: fileDir,
      logger: pino({ level: 'silent' }),
    });
    try {
      await withFile.listen();
      expect(withFile.tokenFile).toContain(fileDir);
      for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: 'Basic abc' }]) {
        const res = await fetch(`${withFile.url}/api/v1/deployments`, { headers });
        const text = await res.text();
        expect(res.status).toBe(401);
        expect(text).not.toContain(fileDir);
        expect(text).not.toContain('api-token');
        expect(text).not.toMatch(/\/[a-z]+\//);
        expect(JSON.parse(text).error.message).toContain('borealis tokens create');
      }
    } finally {
      await withFile.close();
      rmSync(fileDir, { recursive: true, force: true });
    }
  });

  it('the last admin token cannot be revoked when no BOREALIS_API_TOKEN is set', async () => {
    const fileDir = mkdtempSync(join(tmpdir(), 'brl-access-last-'));
    const alone = await createControlPlane({ port: 0, dataDir: fileDir, logger: pino({ level: 'silent' }) });
    try {
      const { readFileSync } = await import('node:fs');
      const bootstrap = readFileSync(alone.tokenFile!, 'utf8').trim();
      const auth = { authorization: `Bearer ${bootstrap}` };
      const list = await alone.app.inject({ url: '/api/v1/tokens', headers: auth });
      const [only] = list.json().tokens;
      expect(only).toMatchObject({ name: 'bootstrap', roles: ['admin'] });
      const refused = await alone.app.inject({
        method: 'DELETE',
        url: `/api/v1/tokens/${only.id}`,
        headers: auth,
      });
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.message).toContain('last admin token');
      // With a second admin, the bootstrap token can go (rotation).
      const second = await alone.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: auth,
        payload: { name: 'ops', roles: ['admin'] },
      });
      const revoked = await alone.app.inject({
        method: 'DELETE',
        url: `/api/v1/tokens/${only.id}`,
        headers: auth,
      });
      expect(revoked.statusCode).toBe(204);
      expect((await alone.app.inject({ url: '/api/v1/tokens', headers: auth })).statusCode).toBe(401);
      const ops = { authorization: `Bearer ${second.json().token}` };
      expect((await alone.app.inject({ url: '/api/v1/tokens', headers: ops })).statusCode).toBe(200);
    } finally {
      await alone.close();
      rmSync(fileDir, { recursive: true, force: true });
    }
  });
});
