import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPlane, type TestPlane } from './support.js';

/** 20 environments in a dependency graph: dependents wait, independent ones overlap. */
let plane: TestPlane;
beforeAll(async () => {
  plane = await startPlane();
});
afterAll(async () => plane?.close());

// Four layers of five; each environment of layer n depends on one or two of layer n-1.
const deps: Record<string, string[]> = {};
for (let layer = 0; layer < 4; layer++) {
  for (let i = 0; i < 5; i++) {
    const name = `e${layer}${i}`;
    deps[name] = layer === 0 ? [] : [...new Set([`e${layer - 1}${i}`, `e${layer - 1}${(i + 1) % 5}`])];
  }
}

it('runs 20 environments with the parallelism dependsOn allows', async () => {
  const targets = Object.entries(deps)
    .map(
      ([name, d]) => `  ${name}:
    constraints:
${d.length ? `      dependsOn: [${d.join(', ')}]\n` : ''}      beforeDeployment:
        - pause:
            duration: 1
            unit: seconds
`,
    )
    .join('');
  const { status, json } = await plane.api<{ deploymentId: string }>(
    'POST',
    '/api/v1/deployments',
    `application: graph\nmanifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config}}"}]\ntargets:\n${targets}`,
    'application/yaml',
  );
  expect(status).toBe(202);
  const d = await plane.waitForStatus(
    json.deploymentId,
    ['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK'],
    20_000,
  );
  expect(d.status).toBe('SUCCEEDED');
  const times = new Map(
    d.environments.map((e) => [e.name, { start: Date.parse(e.startedAt!), end: Date.parse(e.finishedAt!) }]),
  );
  for (const [name, d2] of Object.entries(deps)) {
    const t = times.get(name)!;
    for (const dep of d2) expect(t.start, `${name} after ${dep}`).toBeGreaterThanOrEqual(times.get(dep)!.end);
  }
  // Each layer's five environments run together: they all overlap one another.
  for (let layer = 0; layer < 4; layer++) {
    const spans = [0, 1, 2, 3, 4].map((i) => times.get(`e${layer}${i}`)!);
    const latestStart = Math.max(...spans.map((s) => s.start));
    const earliestEnd = Math.min(...spans.map((s) => s.end));
    expect(latestStart, `layer ${layer} overlaps`).toBeLessThan(earliestEnd);
  }
  // Four layers of one-second pauses, each pause really waited (the overlap checks above are what
  // show parallelism; an upper bound on wall time would only measure this shared machine).
  const all = [...times.values()];
  const total = Math.max(...all.map((s) => s.end)) - Math.min(...all.map((s) => s.start));
  expect(total).toBeGreaterThanOrEqual(4_000);
}, 30_000);
