export type { AgentConnectionInfo, AgentConnectionMeta } from './agent-session.js';
export {
  type AgentGroup,
  type Dispatcher,
  type DispatchRequest,
  type DispatchResponse,
  RelayHub,
  type RelayHubOptions,
} from './relay-hub.js';
export { createAgentUpgradeHandler } from './upgrade.js';
