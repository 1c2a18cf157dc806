/**
 * The test kit: what tests in every package and in test/e2e share, written once. Never built into
 * a package's dist (it sits outside every package's `src`); vitest compiles it on import.
 * - `until.ts`: poll until a condition holds, with a time-out naming what it waited for.
 * - `free-port.ts`: a free TCP port, only for a server that must restart on the same port.
 * - `control-plane.ts`: `startTestControlPlane(overrides)`, a real control plane in this process
 *   (temporary data folder, token, silent or captured logger, listening) and its `close`.
 * - `store.ts`: `useTestStore(kind)`, a fresh real SQLite or PostgreSQL store around a `describe`.
 * Import the module you need (`test/kit/until.js`) where loading the control plane is not wanted.
 */
export {
  closeTestControlPlanes,
  startTestControlPlane,
  TEST_API_TOKEN,
  type TestControlPlane,
  type TestControlPlaneOptions,
} from './control-plane.js';
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
