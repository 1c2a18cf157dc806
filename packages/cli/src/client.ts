import { type ClientConfig, type Env, resolveClientConfig } from './cli-config.js';
import { ApiError } from './errors.js';

export type { ClientConfig } from './cli-config.js';
export { ApiError, CliError } from './errors.js';

/**
 * Where the control plane is and how to authenticate, from the environment and the config file
 * alone (no flags). Commands get theirs from `RunContext.client()`, which adds the flags.
 */
export function clientConfig(env: Env = process.env): ClientConfig {
  return resolveClientConfig({}, env);
}

export interface ApiCallInit {
  contentType?: string;
  rawBody?: string;
  /** How the person runs the CLI, for hints (`borealis`, `pnpm exec borealis`). */
  bin?: string;
}

/** One API call; a non-2xx answer becomes a CliError with the server's code and message. */
export async function apiCall<T>(
  config: ClientConfig,
  method: string,
  path: string,
  body?: unknown,
  init: ApiCallInit = {},
): Promise<T> {
  const bin = init.bin ?? 'borealis';
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
    throw new ApiError(
      `Cannot reach the control plane at ${config.url} (from ${config.urlSource}): ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}. Start it (borealis-server), or point the CLI at it with --url, BOREALIS_URL or \`${bin} config set-context NAME --url URL\``,
      undefined,
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
          ? ` (the CLI found no token: pass --token, set BOREALIS_API_TOKEN, or save one with \`${bin} config set-context NAME --url ${config.url} --token-file <data dir>/api-token\`)`
          : ` (token from ${config.tokenSource})`;
    }
    throw new ApiError(
      `${res.status} ${err?.code ?? ''}: ${err?.message ?? text}${hint}`.trim(),
      res.status,
      err?.code,
    );
  }
  return json as T;
}
