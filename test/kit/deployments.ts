import { until } from './until.js';

/** Any API client of the kit or of test/e2e/support (`plane.api`, `server.api`). */
export type GetJson = (method: 'GET', path: string) => Promise<{ json: any }>;

/**
 * Polls GET /api/v1/deployments/:id until its status is one of `reached` (or `reached(view)`
 * holds) and resolves with that view; on time-out the error shows the last view.
 */
export async function waitForDeployment<T extends { status: string }>(
  api: GetJson,
  id: string,
  reached: readonly string[] | ((view: T) => boolean),
  options: { what?: string; timeoutMs?: number } = {},
): Promise<T> {
  const done = typeof reached === 'function' ? reached : (view: T) => reached.includes(view?.status);
  const what =
    options.what ?? `deployment ${id} to reach ${Array.isArray(reached) ? reached.join('|') : 'its state'}`;
  let last: T | undefined;
  try {
    return await until(
      async () => {
        last = (await api('GET', `/api/v1/deployments/${id}`)).json as T;
        return done(last) ? last : undefined;
      },
      what,
      options.timeoutMs ?? 30_000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last, null, 2)}`);
  }
}
