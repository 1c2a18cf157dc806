import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BorealisError } from '../errors.js';

/**
 * The embedded default's folder (BOREALIS_DATA_DIR), relative to the working directory, and its
 * SQLite file in it: the default of BOREALIS_DATABASE_URL.
 */
export const DEFAULT_DATA_DIR = './.borealis';
export const EMBEDDED_DATABASE_FILE = 'borealis.db';

export type DatabaseTarget =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

/**
 * Decides the backend from `BOREALIS_DATABASE_URL`: `postgres://` / `postgresql://` is PostgreSQL;
 * anything else is a SQLite file given as a plain path, `sqlite:PATH` / `sqlite://PATH`, or a
 * `file:` URL. `:memory:` is accepted for throwaway stores.
 */
export function parseDatabaseUrl(databaseUrl: string): DatabaseTarget {
  const raw = databaseUrl.trim();
  if (raw === '') {
    throw new BorealisError(
      'BRL_ERR_CONFIG',
      'BOREALIS_DATABASE_URL is empty; leave it unset for the embedded SQLite default or set it to a SQLite path or a postgres:// URL',
    );
  }
  if (/^postgres(ql)?:\/\//i.test(raw)) return { kind: 'postgres', url: raw };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) && !/^(sqlite|file):/i.test(raw)) {
    // Name the scheme only: the URL may carry a password.
    const scheme = raw.slice(0, raw.indexOf(':'));
    throw new BorealisError(
      'BRL_ERR_CONFIG',
      `BOREALIS_DATABASE_URL uses the unsupported scheme "${scheme}:"; use postgres://USER@HOST:PORT/DB for PostgreSQL or a file path (or sqlite:PATH) for SQLite`,
    );
  }
  let path: string;
  if (/^file:/i.test(raw)) {
    try {
      path = fileURLToPath(raw.includes('//') ? raw : `file://${resolve(raw.slice('file:'.length))}`);
    } catch (cause) {
      throw new BorealisError(
        'BRL_ERR_CONFIG',
        'BOREALIS_DATABASE_URL is a file: URL that does not name a local file; use file:///absolute/path.db or a plain path',
        { cause },
      );
    }
  } else if (/^sqlite:/i.test(raw)) {
    path = raw.slice('sqlite:'.length).replace(/^\/\//, '');
  } else {
    path = raw;
  }
  if (path === '') {
    throw new BorealisError(
      'BRL_ERR_CONFIG',
      'BOREALIS_DATABASE_URL names no SQLite file; give a path such as sqlite:./.borealis/borealis.db',
    );
  }
  if (path === ':memory:') return { kind: 'sqlite', path };
  return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(path) };
}

/** A database URL safe to log: the password, if any, is masked. */
export function redactDatabaseUrl(target: DatabaseTarget): string {
  if (target.kind === 'sqlite') return target.path;
  try {
    const url = new URL(target.url);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}
