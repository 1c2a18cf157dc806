// `pnpm test`: type check (tsc -b also builds the programs the end-to-end tests spawn), lint,
// then every test with vitest. Ends with one plain line "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  return r.status ?? 1;
};
const bin = (name) => join('node_modules', '.bin', name);

for (const [what, cmd, args] of [
  ['type check and build', bin('tsc'), ['-b']],
  ['lint', bin('biome'), ['check', '.']],
]) {
  console.log(`\n== ${what}`);
  if (run(cmd, args) !== 0) {
    console.log(`\n${what} failed`);
    process.exit(1);
  }
}

console.log('\n== tests');
const out = join(mkdtempSync(join(tmpdir(), 'brl-vitest-')), 'results.json');
const status = run(bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile=${out}`,
  ...process.argv.slice(2),
]);
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(
    `\n${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
  if (r.numTotalTests === 0) {
    console.log('no tests ran');
    process.exit(1);
  }
} catch {
  console.log('\nthe test run produced no results');
  process.exit(1);
}
process.exit(status);
