// The engine bench's seeding control plane (BENCH_SEED=inprocess): the real control plane
// (createControlPlane from the built package, configured from the same BOREALIS_* variables as
// borealis-server), which starts the bench's deployments through its own engine when its parent
// asks over IPC: the deploy file parsed as the API parses it, then `engine.start`, exactly the
// route's two calls. Only the HTTP request around them is skipped, so that 100,000 deployments
// are started in minutes on a busy machine; the rows are the engine's own. The parent SIGKILLs
// it once every webhook call has arrived, as it does the ordinary server.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.env.BENCH_SEEDER_ROOT;
const load = (path) => import(pathToFileURL(join(root, path)).href);
const { controlPlaneOptionsFromEnv } = await load('packages/control-plane/dist/control-plane-options.js');
const { createControlPlane } = await load('packages/control-plane/dist/server.js');
const { parseDeployFile } = await load('packages/deploy-spec/dist/index.js');

const cp = await createControlPlane(controlPlaneOptionsFromEnv());
await cp.listen();
process.on('message', async ({ count, concurrency, template }) => {
  const began = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const parsed = parseDeployFile(template.replaceAll('@I@', String(i)), { metricProviders: [] });
        if (!parsed.spec) throw new Error(`deploy file ${i}: ${JSON.stringify(parsed.diagnostics[0])}`);
        await cp.engine.start({ spec: parsed.spec, context: {}, createdBy: 'bench' });
        // Each HTTP start is an I/O callback of its own; without this turn of the event loop the
        // starts (SQLite answers synchronously) would run as one stream of microtasks and the
        // webhook calls would not leave until every deployment was started.
        await new Promise((r) => setImmediate(r));
      }
    }),
  );
  process.send({ seeded: count, ms: performance.now() - began });
});
process.send({ ready: true });
