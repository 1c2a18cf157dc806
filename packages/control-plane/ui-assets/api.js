// The API client: the bearer token this tab holds, one call, and its errors as data.

const TOKEN_KEY = 'borealis.apiToken';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const token = getToken();
  if (!token) throw new ApiError(401, 'BRL_UI_NO_TOKEN', 'Paste the API token to continue.');
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(
      0,
      'BRL_UI_UNREACHABLE',
      `Cannot reach the control plane at ${location.origin}: is borealis-server running? This page retries by itself.`,
    );
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = json?.error;
    throw new ApiError(
      res.status,
      err?.code ?? `HTTP_${res.status}`,
      err?.message ?? `The control plane answered ${res.status} ${res.statusText}`,
    );
  }
  return json;
}
