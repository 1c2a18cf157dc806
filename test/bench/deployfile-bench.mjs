// Deploy-file parser on pathological input, as same-run ratios against a plain file. The robustness
// tests (packages/deploy-spec/src/deployfile/robustness.test.ts) check what each input yields; how
// long it takes is measured here, not asserted there, since a shared machine makes wall-clock
// budgets in tests fail on load. Goal: every input within 1 s, and within 100× the plain file.
// Run after a build: `pnpm exec tsc -b && node test/bench/deployfile-bench.mjs [--json]`.
import { parseDeployFile } from '@borealis/deploy-spec';

const plain = `application: app
targets:
  dev:
    account: dev-agent
manifests: [{path: k8s/app.yaml}]
`;
const steps = Array.from({ length: 100 }, () => '        - pause: {duration: 1, unit: seconds}');
let widthBomb = `application: app\nmanifests: [{path: k8s/app.yaml}]\ntargets:\n  t0:\n    constraints:\n      beforeDeployment: &steps\n${steps.join('\n')}\n`;
for (let i = 1; i < 80; i++) widthBomb += `  t${i}:\n    constraints:\n      beforeDeployment: *steps\n`;

const inputs = {
  plain,
  'over the size limit (10 MB)': `${plain}context:\n${'  k: v\n'.repeat((10 * 1024 * 1024) / 7)}`,
  'deep flow nesting (100 000)': `${plain}context: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
  'deep block sequences (5 000)': `${'- '.repeat(5000)}x\n`,
  'alias width bomb': widthBomb,
};

function median(text) {
  const times = [];
  for (let i = 0; i < 7; i++) {
    const began = performance.now();
    parseDeployFile(text);
    times.push(performance.now() - began);
  }
  return times.sort((a, b) => a - b)[3];
}

const base = median(plain);
const results = Object.entries(inputs).map(([name, text]) => {
  const ms = median(text);
  return { name, ms: Number(ms.toFixed(3)), ratio: Number((ms / base).toFixed(1)), withinSecond: ms < 1000 };
});
for (const r of results) {
  console.log(
    `${r.name.padEnd(30)} ${r.ms.toFixed(2).padStart(9)} ms  ${String(r.ratio).padStart(8)}× plain  ${r.withinSecond ? 'within 1 s' : 'OVER 1 s'}`,
  );
}
if (process.argv.includes('--json')) console.log(JSON.stringify({ deployFile: results }));
