export { apiCall, CliError, type ClientConfig, clientConfig } from './client.js';
export { buildProgram } from './program.js';
