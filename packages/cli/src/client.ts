import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Thrown for anything the CLI reports to a person and exits non-zero on. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ClientConfig {
  url: string;
  token: string | undefined;
  tokenSource: string;
}

/**
 * Where the control plane is and how to authenticate: `BOREALIS_URL` (default
 * http://127.0.0.1:8080) and `BOREALIS_API_TOKEN`, or the token file the embedded default writes
 * (`$BOREALIS_DATA_DIR/api-token`, default `./.borealis/api-token`).
 */
export function clientConfig(env: Record<string, string | undefined> = process.env): ClientConfig {
  const url = (env.BOREALIS_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (env.BOREALIS_API_TOKEN)
    return { url, token: env.BOREALIS_API_TOKEN, tokenSource: 'BOREALIS_API_TOKEN' };
  const file = join(resolve(env.BOREALIS_DATA_DIR || './.borealis'), 'api-token');
  if (existsSync(file)) return { url, token: readFileSync(file, 'utf8').trim(), tokenSource: file };
  return { url, token: undefined, tokenSource: 'none' };
}

export async function apiCall<T>(
  config: ClientConfig,
  method: string,
  path: string,
  body?: unknown,
  init: { contentType?: string; rawBody?: string } = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(config.url + path, {
      method,
      headers: {
        ...(config.token ? { authorization: `Bearer ${config.token}` } : {}),
        ...(body !== undefined || init.rawBody !== undefined
          ? { 'content-type': init.contentType ?? 'application/json' }
          : {}),
      },
      body: init.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  } catch (err) {
    throw new CliError(
      `Cannot reach the control plane at ${config.url} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); start it with \`pnpm exec borealis-server\` or set BOREALIS_URL`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    let hint = '';
    if (res.status === 401) {
      hint =
        config.tokenSource === 'none'
          ? ' (no token: set BOREALIS_API_TOKEN, or run the CLI where the control plane keeps ./.borealis/api-token)'
          : ` (token from ${config.tokenSource})`;
    }
    throw new CliError(`${res.status} ${err?.code ?? ''}: ${err?.message ?? text}${hint}`.trim());
  }
  return json as T;
}
