/**
 * The tunnel's protocol version travels in the WebSocket subprotocol (`borealis.tunnel.v<N>`), so a
 * mismatch is refused during the upgrade — before either side parses a single frame — with a
 * message that names both versions (the handshake itself is in `handshake.ts`).
 */
export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL_PREFIX = 'borealis.tunnel.v';
export const SUBPROTOCOL = `${SUBPROTOCOL_PREFIX}${PROTOCOL_VERSION}`;

/**
 * The virtual destination through which the control plane addresses the Kubernetes API of the
 * cluster an agent runs in (`https://kubernetes.borealis.invalid/apis/apps/v1/...`). The agent
 * maps it to its own API server and adds its own credentials, which never leave the cluster.
 * `.invalid` (RFC 2606) never resolves, so the name cannot collide with a real host.
 */
export const KUBERNETES_API_HOST = 'kubernetes.borealis.invalid';
