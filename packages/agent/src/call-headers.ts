import type { HeaderList } from '@borealis/protocol';

/**
 * Which headers of a call the agent passes on each way: hop-by-hop ones (and those `Connection`
 * names) stay on their own hop, as a proxy's do.
 */

/** Connection-scoped headers (RFC 9110 §7.6.1) and ones undici refuses to forward. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** Request-only: undici derives Host from the URL and does not implement Expect. */
const REQUEST_DROPPED = new Set(['host', 'expect']);

/** Pairs → undici's flat [name, value, ...] form, which keeps repeats and order. */
export function requestHeaders(list: HeaderList): string[] {
  const dropped = connectionListed(list);
  const out: string[] = [];
  for (const [name, value] of list) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || REQUEST_DROPPED.has(lower) || dropped.has(lower)) continue;
    out.push(name, value);
  }
  return out;
}

export function responseHeaders(headers: Record<string, string | string[] | undefined>): HeaderList {
  const connection = headers.connection;
  const dropped = connectionListed(
    connection === undefined
      ? []
      : (Array.isArray(connection) ? connection : [connection]).map((v) => ['connection', v]),
  );
  const out: HeaderList = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || dropped.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) out.push([name, v]);
    else out.push([name, value]);
  }
  return out;
}

const NONE_LISTED: ReadonlySet<string> = new Set();

/** Headers named in `Connection` are hop-by-hop too (no set is made when there is none). */
function connectionListed(list: HeaderList): ReadonlySet<string> {
  let names: Set<string> | undefined;
  for (const [name, value] of list) {
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    names ??= new Set<string>();
    for (const token of value.split(',')) names.add(token.trim().toLowerCase());
  }
  return names ?? NONE_LISTED;
}

export function declaresBody(list: HeaderList): boolean {
  return list.some(([name, value]) => {
    const lower = name.toLowerCase();
    return (lower === 'content-length' && value.trim() !== '0') || lower === 'transfer-encoding';
  });
}
