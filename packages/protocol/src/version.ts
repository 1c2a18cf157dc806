/**
 * The tunnel's protocol version travels in the WebSocket subprotocol (`borealis.tunnel.v<N>`), so a
 * mismatch is refused during the upgrade — before either side parses a single frame — with a
 * message that names both versions (the handshake itself is in `handshake.ts`).
 */
export const PROTOCOL_VERSION = 3;
/** Every version this build speaks: agents and control planes of v1 keep working with it. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1, 2, 3];
export const SUBPROTOCOL_PREFIX = 'borealis.tunnel.v';
/** Protocol v1's subprotocol: the one every release speaks (and what v1-only peers offer). */
export const SUBPROTOCOL = `${SUBPROTOCOL_PREFIX}1`;
/** Protocol v2: a small call and its small answer each travel as one frame (see `frames.ts`). */
export const SUBPROTOCOL_V2 = `${SUBPROTOCOL_PREFIX}2`;
/** Protocol v3: v2, with DATA frames of up to `Limits.maxDataChunkBytesV3` (large bodies). */
export const SUBPROTOCOL_V3 = `${SUBPROTOCOL_PREFIX}3`;

/** Versions as a phrase for messages: `v1, v2 and v3` (with `prefix` 'v'). */
export function versionsPhrase(versions: readonly number[], prefix = ''): string {
  const all = versions.map((v) => `${prefix}${v}`);
  return all.length > 1 ? `${all.slice(0, -1).join(', ')} and ${all.at(-1)}` : (all[0] ?? '');
}

/** The version a negotiated subprotocol stands for (a socket without one speaks v1). */
export function subprotocolVersion(protocol: string | undefined): 1 | 2 | 3 {
  return protocol === SUBPROTOCOL_V3 ? 3 : protocol === SUBPROTOCOL_V2 ? 2 : 1;
}

/**
 * The virtual destination through which the control plane addresses the Kubernetes API of the
 * cluster an agent runs in (`https://kubernetes.borealis.invalid/apis/apps/v1/...`). The agent
 * maps it to its own API server and adds its own credentials, which never leave the cluster.
 * `.invalid` (RFC 2606) never resolves, so the name cannot collide with a real host.
 */
export const KUBERNETES_API_HOST = 'kubernetes.borealis.invalid';
