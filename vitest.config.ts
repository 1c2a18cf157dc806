import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// In-process tests import each package's TypeScript source; end-to-end tests spawn the built
// programs (dist/, produced by `tsc -b`, which `pnpm test` runs first).
export default defineConfig({
  resolve: {
    alias: {
      // Before the package itself: a subpath must not resolve under its index.ts.
      '@borealis/protocol/net-guard': fileURLToPath(
        new URL('./packages/protocol/src/net-guard/index.ts', import.meta.url),
      ),
      '@borealis/protocol': src('protocol'),
      '@borealis/agent': src('agent'),
      '@borealis/control-plane': src('control-plane'),
      '@borealis/deploy-spec': src('deploy-spec'),
      '@borealis/cli': src('cli'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Bounds that catch a hang, not a speed check: end-to-end tests spawn CLIs, agents and
    // control planes, and on a loaded 2-core machine a CLI-heavy test has taken more than 30 s.
    testTimeout: 90_000,
    hookTimeout: 90_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
