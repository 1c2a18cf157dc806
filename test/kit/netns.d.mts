export interface PrivateNetworkOptions {
  /** Goes into the namespace's and the veth's names (keeps one tool's apart from another's). */
  label?: string;
  /** The first two octets of the veth's /30s (default 10.231). */
  hostNet?: string;
  /** The first two octets of the private addresses (default 10.232). */
  privateNet?: string;
  /** The error without root. */
  needsRoot?: string;
}

export interface PrivateNetwork {
  name: string;
  /** The host side of the veth: where processes inside reach the outside (the control plane). */
  hostAddress: string;
  /** The namespace's side of the veth. */
  nsAddress: string;
  /** An address only the namespace has: the private web server's. */
  privateAddress: string;
  /** `ip netns exec NAME ...args`, its output. */
  exec(args: string[]): string;
  destroy(): void;
}

export function createPrivateNetwork(options?: PrivateNetworkOptions): PrivateNetwork;
