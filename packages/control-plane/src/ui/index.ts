import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BorealisError } from '../errors.js';

/**
 * The web UI: static files (no build step; ES modules by concern, flat names such as `api.js`,
 * `router.js`, `view-*.js`, `graph.js`) that call the API from the browser with the bearer token a
 * person pastes in; a deployment's page follows its server-sent events with that token. The files hold no data, so `/` and `/ui/*` are registered in
 * the public scope (`api/scopes.ts`); every API call the page makes carries the token.
 *
 * Resolved relative to this module: `src/ui/` in development and tests, `dist/ui/` once built;
 * both sit two levels below the package, next to `ui-assets/`.
 */
const ASSETS_DIR = new URL('../../ui-assets/', import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
};

/** Only flat names with a known extension: no directories, so no way out of ASSETS_DIR. */
const ASSET_NAME = /^[a-z0-9][a-z0-9._-]*\.(html|js|css|svg|png|ico)$/;

export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function registerUiRoutes(app: FastifyInstance): void {
  app.get('/', { schema: { hide: true } }, (_req, reply) => reply.redirect('/ui/', 302));
  app.get('/ui', { schema: { hide: true } }, (_req, reply) => reply.redirect('/ui/', 302));
  app.get('/ui/', { schema: { hide: true } }, (_req, reply) => sendAsset(reply, 'index.html'));
  app.get<{ Params: { '*': string } }>('/ui/*', { schema: { hide: true } }, (req, reply) =>
    sendAsset(reply, req.params['*']),
  );
}

async function sendAsset(reply: FastifyReply, name: string): Promise<FastifyReply> {
  reply.headers(UI_SECURITY_HEADERS);
  const match = ASSET_NAME.exec(name);
  const type = match ? CONTENT_TYPES[match[1]!] : undefined;
  if (!type) throw notFound(name);
  let body: Buffer;
  try {
    body = await readFile(new URL(name, ASSETS_DIR));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(name);
    throw err;
  }
  return reply.type(type).send(body);
}

const notFound = (name: string) =>
  new BorealisError('BRL_ERR_NOT_FOUND', `No UI file ${name}; the UI starts at /ui/`);
