/**
 * @borealis/deploy-spec: the deploy file on its own runtime boundary. Parse, validate and
 * normalise deploy files (`deployfile/`, with `agentFor`, the one webhook routing rule), the
 * webhook template language they use (`templates/`), the role-name grammar of `requiresRoles`,
 * the Kubernetes objects and API calls a deploy file makes (`kubernetes/`, what `deploy plan`
 * prints), and the API's answers as clients read them, with the final statuses (`views/`).
 * Depends on `@borealis/protocol` (header and agent-identifier grammars), `yaml` and `handlebars`
 * only: the CLI validates without loading the server (fastify, pg, nats, SQLite).
 */
export * from './deployfile/index.js';
export * from './kubernetes/index.js';
export { isRoleName, ROLE_NAME_PATTERN } from './roles.js';
export * from './templates/index.js';
export * from './views/index.js';
