// The API client: the bearer token this tab holds, one call, and its errors as data.

const TOKEN_KEY = 'borealis.apiToken';

/**
 * The token: per tab (sessionStorage) by default; on this device (localStorage) only when the
 * person ticks "Remember on this device". Forgetting clears both.
 */
export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
}

export function setToken(value, remember = false) {
  sessionStorage.setItem(TOKEN_KEY, value);
  if (remember) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
}

export function isRemembered() {
  return localStorage.getItem(TOKEN_KEY) !== null;
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

/**
 * Server-sent events with the bearer token: EventSource cannot send an Authorization header (and a
 * token in the URL would end up in logs), so this reads the text/event-stream with fetch().
 * Resolves when the server ends the stream; rejects with an ApiError when it refuses or the
 * connection breaks. `onEvent({id, event, data})` gets each event, data parsed as JSON.
 */
export async function stream(path, { onOpen, onEvent, signal, lastEventId }) {
  const token = getToken();
  if (!token) throw new ApiError(401, 'BRL_UI_NO_TOKEN', 'Paste the API token to continue.');
  let res;
  try {
    res = await fetch(path, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
        ...(lastEventId ? { 'last-event-id': String(lastEventId) } : {}),
      },
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'BRL_UI_UNREACHABLE', `Cannot reach the control plane at ${location.origin}`);
  }
  if (!res.ok || !res.body) {
    let json;
    try {
      json = await res.json();
    } catch {
      json = undefined;
    }
    throw new ApiError(
      res.status,
      json?.error?.code ?? `HTTP_${res.status}`,
      json?.error?.message ?? `The event stream answered ${res.status}`,
    );
  }
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, 'BRL_UI_STREAM_BROKEN', 'The live event stream broke off');
    }
    if (chunk.done) return;
    buffer += chunk.value;
    let end = buffer.search(/\r?\n\r?\n/);
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(buffer.slice(end).match(/^\r?\n\r?\n/)[0].length + end);
      const event = { id: undefined, event: 'message', data: '' };
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length) {
        try {
          event.data = JSON.parse(data.join('\n'));
        } catch {
          event.data = data.join('\n');
        }
        onEvent(event);
      }
      end = buffer.search(/\r?\n\r?\n/);
    }
  }
}
