/**
 * The test kit: what tests in every package and in test/e2e share, written once. Never built into
 * a package's dist (it sits outside every package's `src`); vitest compiles it on import.
 * - `until.ts`: poll until a condition holds, with a time-out naming what it waited for.
 * - `control-plane.ts`: `startTestControlPlane(overrides)`, a real control plane in this process
 *   (temporary data folder, token, silent or captured logger, listening) and its `close`;
 *   `startTestReplicas` for several on one database and one bus.
 * - `fetch-json.ts`: one API call with a bearer token, JSON in and out.
 * - `deploy-file.ts`, `deployments.ts`: deploy-file YAML pieces; waiting for a deployment's status.
 * - `agent.ts`: dialling as an agent, and an in-process agent answering streams.
 * - `netns.mjs`, `tcp-balancer.mjs`, `cuttable-proxy.mjs`, `free-port.mjs` (a free TCP port, only for a
 *   server that must restart on the same port): plain JavaScript with `.d.mts` types, shared with
 *   `pnpm chaos`; `stop-child.mjs` (SIGTERM, then SIGKILL after a grace), shared with the benchmarks.
 * - `store.ts`: `useTestStore(kind)`, a fresh real SQLite or PostgreSQL store around a `describe`.
 * Import the module you need (`test/kit/until.js`) where loading the control plane is not wanted.
 */

export { connectTestAgent, dialAsAgent } from './agent.js';
export {
  closeTestControlPlanes,
  startTestControlPlane,
  startTestReplicas,
  TEST_API_TOKEN,
  type TestControlPlane,
  type TestControlPlaneOptions,
} from './control-plane.js';
export { deployFileHead, webhookYaml } from './deploy-file.js';
export { waitForDeployment } from './deployments.js';
export { fetchJson } from './fetch-json.js';
export { freePort } from './free-port.mjs';
export {
  createTestDatabase,
  TEST_BACKENDS,
  type TestBackendKind,
  type TestDatabase,
  type TestStore,
  useTestStore,
} from './store.js';
export { until } from './until.js';
