import { fileURLToPath } from 'node:url';

/** @borealis/agent: the Remote Network Agent, runnable in-process (tests) or as `borealis-agent`. */
export { type AgentStatus, type RunningAgent, startAgent } from './agent.js';
export {
  type AgentOptions,
  agentOptionsFromEnv,
  type CompiledAgentOptions,
  compileAgentOptions,
  Defaults,
  OptionEnv,
} from './agent-options.js';
export { AllowList } from './allow-list.js';
export { AgentConfigError, AgentError, AgentErrorCatalogue, type AgentErrorCode } from './errors.js';
export type { LookupAll } from './guarded-connector.js';
export { LogMessages } from './log-messages.js';

/** Path of the program, for tests that spawn it: `node <AGENT_BIN>` with the env variables. */
export const AGENT_BIN: string = fileURLToPath(new URL('../bin/borealis-agent.js', import.meta.url));
