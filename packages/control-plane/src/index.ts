export { type CompiledOptions, type ControlPlaneOptions, compileOptions, optionsFromEnv } from './config.js';
export { BorealisError, ErrorCatalogue, type ErrorCode, isBorealisError } from './errors.js';
export type { AgentGroup, Dispatcher, DispatchRequest, DispatchResponse } from './relay/index.js';
export { type ControlPlane, type CreateControlPlaneOptions, createControlPlane } from './server.js';
