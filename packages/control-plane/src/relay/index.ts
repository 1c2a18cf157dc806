export type { AgentConnectionInfo, AgentConnectionMeta } from './agent-session.js';
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
