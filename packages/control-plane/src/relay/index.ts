export type { AgentConnectionInfo, AgentConnectionMeta } from './agent-session.js';
export {
  CredentialGuard,
  type CredentialGuardOptions,
  DEFAULT_CREDENTIAL_SWEEP_MS,
} from './credential-guard.js';
export {
  type AgentGroup,
  type Dispatcher,
  type DispatchRequest,
  type DispatchResponse,
  RelayHub,
  type RelayHubOptions,
} from './relay-hub.js';
export type { ForwardedResponse, RemoteAgents } from './remote-agents.js';
export { createAgentUpgradeHandler } from './upgrade.js';
