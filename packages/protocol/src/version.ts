/**
 * The tunnel's protocol version travels in the WebSocket subprotocol (`borealis.tunnel.v<N>`), so a
 * mismatch is refused during the upgrade — before either side parses a single frame — with a
 * message that names both versions.
 */
export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL_PREFIX = 'borealis.tunnel.v';
export const SUBPROTOCOL = `${SUBPROTOCOL_PREFIX}${PROTOCOL_VERSION}`;

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

/** Where agents dial, relative to the control plane's URL. */
export const AGENT_CONNECT_PATH = '/api/v1/agents/connect';

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

/**
 * The virtual destination through which the control plane addresses the Kubernetes API of the
 * cluster an agent runs in (`https://kubernetes.borealis.invalid/apis/apps/v1/...`). The agent
 * maps it to its own API server and adds its own credentials, which never leave the cluster.
 * `.invalid` (RFC 2606) never resolves, so the name cannot collide with a real host.
 */
export const KUBERNETES_API_HOST = 'kubernetes.borealis.invalid';
