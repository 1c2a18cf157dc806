import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, createControlPlane } from '../server.js';

/** Whatever goes wrong with a request, the answer has one shape and says what to do. */
let cp: ControlPlane;
let dir: string;
const auth = { authorization: 'Bearer errors-token-0123456789' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'brl-errors-'));
  cp = await createControlPlane({
    port: 0,
    dataDir: dir,
    apiToken: auth.authorization.slice(7),
    logger: pino({ level: 'silent' }),
  });
});
afterAll(async () => {
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('error answers', () => {
  it.each([
    ['malformed JSON', 'application/json', '{bad', 400, 'BRL_ERR_BAD_REQUEST', /not valid JSON/],
    [
      'an unsupported content-type',
      'application/xml',
      '<a/>',
      415,
      'BRL_ERR_BAD_REQUEST',
      /application\/xml is not accepted.*application\/json/,
    ],
    ['an empty deploy file', 'application/yaml', '', 400, 'BRL_ERR_DEPLOY_FILE_INVALID', /empty/],
  ])('%s', async (_name, type, payload, status, code, message) => {
    const res = await cp.app.inject({
      method: 'POST',
      url: '/api/v1/deployments',
      headers: { ...auth, 'content-type': type },
      payload,
    });
    expect(res.statusCode).toBe(status);
    const body = res.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(message);
  });

  it('an unknown route', async () => {
    const res = await cp.app.inject({ method: 'GET', url: '/api/v1/nothing', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'BRL_ERR_NOT_FOUND', message: 'No route GET /api/v1/nothing' },
    });
  });

  it('a body over the limit', async () => {
    const res = await cp.app.inject({
      method: 'POST',
      url: '/api/v1/deployments',
      headers: { ...auth, 'content-type': 'application/yaml' },
      payload: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(res.statusCode).toBe(413);
    expect((res.json() as { error: { code: string } }).error.code).toBe('BRL_ERR_PAYLOAD_TOO_LARGE');
  });
});
