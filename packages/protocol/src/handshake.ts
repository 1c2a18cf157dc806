import type { Readable } from 'node:stream';
import { Limits } from './frames.js';
import {
  SUBPROTOCOL,
  SUBPROTOCOL_PREFIX,
  SUBPROTOCOL_V2,
  SUBPROTOCOL_V3,
  SUPPORTED_PROTOCOL_VERSIONS,
} from './version.js';

// Both halves of the WebSocket upgrade between an agent and the control plane, in one place as
// chisel keeps both ends of its handshake in `share/`: where the agent dials, what it announces
// (subprotocol, identity headers, Basic credentials), how the control plane refuses it (an HTTP
// answer with a JSON body) and how the agent reads that refusal. Everything is checked before
// the upgrade completes, so a refused agent gets a status and a message it can log.

/** Where agents dial, relative to the control plane's URL. */
export const AGENT_CONNECT_PATH = '/api/v1/agents/connect';

/** Header the control plane sets on a refused upgrade: the versions it speaks. */
export const SUPPORTED_VERSIONS_HEADER = 'x-borealis-protocol-versions';

/**
 * Headers the agent announces itself with in the upgrade request. Its credentials travel in
 * `Authorization: Basic base64(clientId:clientSecret)`, where proxies and loggers expect secrets.
 */
export const AgentHeaders = {
  identifier: 'x-borealis-agent-identifier',
  instanceId: 'x-borealis-agent-instance',
  version: 'x-borealis-agent-version',
  /** Comma-separated `AgentFeatures` the agent understands (absent: none, a v1 agent as first shipped). */
  features: 'x-borealis-agent-features',
} as const;

/**
 * Optional parts of protocol v1 an agent may announce. The control plane uses one only with agents
 * that announced it, so agents released before it keep working.
 */
export const AgentFeatures = {
  /** OPEN frames may carry a loggable form of the request path (`RequestHead.logUrl`). */
  logUrl: 'log-url',
} as const;

/**
 * The WebSocket settings both ends give their socket (ws's option names): no message larger than
 * a frame may be, and no compression (frames are small and msgpack; deflate costs memory per
 * connection and opens the door to compression bombs).
 */
export const TUNNEL_WEBSOCKET_OPTIONS = {
  maxPayload: Limits.maxMessageBytes,
  perMessageDeflate: false,
} as const;

// ---- subprotocol: the version travels in it ---------------------------------------------------

/**
 * The subprotocols an agent offers in `Sec-WebSocket-Protocol`: v1 first, so a server that takes
 * the first offer without choosing (a plain ws server, a v1 control plane) gets the one every
 * release speaks; a v2 control plane picks v2, a v3 one v3 (`acceptSubprotocol`).
 */
export function offeredSubprotocols(): string[] {
  return [SUBPROTOCOL, SUBPROTOCOL_V2, SUBPROTOCOL_V3];
}

/** The control plane's choice among the offered subprotocols: the newest it speaks (false: none). */
export function acceptSubprotocol(offered: ReadonlySet<string>): string | false {
  if (offered.has(SUBPROTOCOL_V3)) return SUBPROTOCOL_V3;
  if (offered.has(SUBPROTOCOL_V2)) return SUBPROTOCOL_V2;
  return offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false;
}

/**
 * Reads the protocol versions a peer offers in `Sec-WebSocket-Protocol`. Entries that are not
 * Borealis subprotocols are ignored; an unparsable version is reported as NaN so the caller can
 * name it in its refusal.
 */
export function parseOfferedVersions(header: string | undefined): number[] {
  if (!header) return [];
  return header
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(SUBPROTOCOL_PREFIX))
    .map((s) => Number(s.slice(SUBPROTOCOL_PREFIX.length)));
}

/** The features in an `x-borealis-agent-features` header (unknown ones ignored). */
export function parseAgentFeatures(header: string | undefined): Set<string> {
  const known = new Set<string>(Object.values(AgentFeatures));
  return new Set(
    (header ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => known.has(s)),
  );
}

// ---- credentials --------------------------------------------------------------------------------

export interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

/** The `Authorization` header value an agent sends: `Basic base64(clientId:clientSecret)`. */
export function encodeBasicCredentials(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
}

/** Reads an `Authorization: Basic …` header; undefined when it is absent or has no client id. */
export function parseBasicCredentials(header: string | undefined): BasicCredentials | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  const decoded = m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
}

// ---- refusal: the control plane's answer instead of an upgrade ----------------------------------

/** What the control plane said when it refused the upgrade, as the agent reads it. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

const REASON_PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  426: 'Upgrade Required',
  500: 'Internal Server Error',
};

/** The most of a refusal body the agent reads; the rest is dropped. */
export const MAX_REFUSAL_BODY_BYTES = 16 * 1024;

/**
 * The raw HTTP answer that refuses an upgrade: `body` is sent as JSON (`{ error: { code, message } }`
 * is what `parseRefusal` understands). A version mismatch also names the versions this side speaks
 * and the upgrade it requires.
 */
export function encodeRefusal(
  status: number,
  body: unknown,
  options: { versionMismatch?: boolean } = {},
): string {
  const json = JSON.stringify(body);
  const extra = options.versionMismatch
    ? `${SUPPORTED_VERSIONS_HEADER}: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}\r\nUpgrade: websocket\r\n`
    : '';
  return (
    `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? 'Error'}\r\n` +
    'Connection: close\r\nContent-Type: application/json\r\n' +
    extra +
    `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`
  );
}

/**
 * Reads a refusal's body: the control plane's JSON error, or — when a proxy or load balancer
 * answered instead — what it said, under a `HTTP_<status>` code.
 */
export function parseRefusal(status: number, statusMessage: string | undefined, body: string): Refusal {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (parsed.error && typeof parsed.error.code === 'string') {
      return { status, code: parsed.error.code, message: String(parsed.error.message ?? '') };
    }
  } catch {
    // Not our JSON: a proxy or load balancer answered. Show what it said.
  }
  return { status, code: `HTTP_${status}`, message: body.slice(0, 200).trim() || (statusMessage ?? '') };
}

/**
 * A refusal about this agent itself (credentials, identifier, version, wrong URL): retrying soon
 * cannot fix it. Only 408 and 429 are "try again" answers among the 4xx.
 */
export function isPermanentRefusal(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * Reads at most `MAX_REFUSAL_BODY_BYTES` of a refusal's body (an `IncomingMessage`). Never
 * rejects, and gives up after 5 s: a peer that never finishes its refusal must not hold the
 * reconnect loop.
 */
export function readRefusalBody(res: Readable): Promise<string> {
  return new Promise((resolve) => {
    setTimeout(() => resolve(Buffer.concat(chunks).toString('utf8')), 5_000).unref();
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size < MAX_REFUSAL_BODY_BYTES) chunks.push(c);
      size += c.byteLength;
    });
    res.on('end', () => resolve(Buffer.concat(chunks).subarray(0, MAX_REFUSAL_BODY_BYTES).toString('utf8')));
    res.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('aborted', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
