/**
 * @borealis/protocol/net-guard: where a process may connect, judged on the address it really
 * connects to. IP and CIDR arithmetic, and one connector that resolves a name, checks each
 * address with the caller's rules and connects to the one it checked (no DNS rebinding). The
 * agent's allow-list and the control plane's SSRF guard both run on it. Nothing here is part of
 * the tunnel protocol: it is a separate entry point of the package, so the wire stays small.
 */
export {
  type AddressCheck,
  type Connector,
  type ConnectTarget,
  type GuardOptions,
  guardConnector,
  type LookupAll,
  systemLookup,
} from './guarded-connector.js';
export {
  bitsOf,
  type Cidr,
  cidrContains,
  formatV4,
  type IpAddress,
  maskOf,
  parseCidr,
  parseIp,
  sameAddress,
} from './ip-address.js';
