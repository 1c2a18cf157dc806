/**
 * The relay: agents dial in (`upgrade.ts` checks version, credentials and identifier before the
 * WebSocket opens), each connection is an `AgentSession` with a requester `Tunnel` on it, and
 * `RelayHub` is the one door to them (`Dispatcher`, contracts in `types.ts`): `AgentRegistry`
 * picks this replica's connection, `dispatch-errors.ts` gives failures the control plane's codes.
 * When the agent is connected to another replica, the call leaves this folder through the
 * `RemoteAgents` port (`remote-agents.ts`); its other half lives in `cluster/forwarding.ts`,
 * which carries the call over the cluster bus and answers it there with `dispatchLocal`.
 */
export type { AgentConnectionInfo, AgentConnectionMeta } from './agent-session.js';
export {
  CredentialGuard,
  type CredentialGuardOptions,
  DEFAULT_CREDENTIAL_SWEEP_MS,
} from './credential-guard.js';
export { RelayHub, type RelayHubOptions } from './relay-hub.js';
export type { ForwardedResponse, RemoteAgents } from './remote-agents.js';
export type { AgentGroup, Dispatcher, DispatchRequest, DispatchResponse } from './types.js';
export { createAgentUpgradeHandler } from './upgrade.js';
