/**
 * An API call to `baseUrl` with a bearer `token`: a string body goes as it is (`contentType`,
 * default JSON), anything else as JSON; the answer's JSON (undefined for an empty body).
 */
export async function fetchJson<T = any>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; json: T; headers: Headers }> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': contentType }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}
