import { describe, expect, it } from 'vitest';
import {
  cliOnControlPlane,
  compareCyclesWithKnown,
  compareWithKnown,
  importCycles,
  importGraph,
  importSpecifiers,
  isProductSource,
  lineCount,
  missingPaths,
  oversizedFiles,
  sqlOutsideStore,
} from './checks.js';

/** Each architecture rule, proven able to fail on a small made-up tree. */
describe('architecture checks', () => {
  it('look at product sources only: not tests, test utils or declarations', () => {
    expect(isProductSource('packages/agent/src/dialer.ts')).toBe(true);
    expect(isProductSource('packages/control-plane/ui-assets/app.js')).toBe(true);
    expect(isProductSource('packages/agent/src/dialer.test.ts')).toBe(false);
    expect(isProductSource('packages/control-plane/src/store/test-stores.test-util.ts')).toBe(false);
    expect(isProductSource('packages/agent/dist/dialer.js')).toBe(false);
    expect(isProductSource('test/kit/until.ts')).toBe(false);
  });

  it('flag a file of 451 lines and pass one of 450', () => {
    const lines = (n: number) => `${'x\n'.repeat(n)}`;
    expect(lineCount(lines(450))).toBe(450);
    const found = oversizedFiles([
      { path: 'packages/a/src/ok.ts', text: lines(450) },
      { path: 'packages/a/src/big.ts', text: lines(451) },
    ]);
    expect([...found.keys()]).toEqual(['packages/a/src/big.ts']);
    expect(found.get('packages/a/src/big.ts')).toContain('451 lines');
  });

  it('read static, re-exported, type-only and dynamic imports, not commented ones', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "const e = await import('./e.js');",
      "import './f.js';",
      "import {\n  g,\n  h,\n} from '@borealis/protocol';",
      "// import { x } from './x.js';",
    ].join('\n');
    expect(importSpecifiers(text).sort()).toEqual(
      ['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js', '@borealis/protocol'].sort(),
    );
  });

  it('find a cycle through a folder index and a workspace package, and name its path', () => {
    const files = [
      { path: 'packages/p/src/index.ts', text: "export * from './one.js';" },
      { path: 'packages/p/src/one.ts', text: "import { q } from '@borealis/q';" },
      { path: 'packages/q/src/index.ts', text: "export * from './sub/index.js';" },
      { path: 'packages/q/src/sub/index.ts', text: "import type { P } from '../../../p/src/one.js';" },
      { path: 'packages/q/src/alone.ts', text: "import { p } from '@borealis/p';" },
    ];
    const found = importCycles(importGraph(files));
    expect([...found.keys()]).toEqual([
      'packages/p/src/one.ts + packages/q/src/index.ts + packages/q/src/sub/index.ts',
    ]);
    expect([...found.values()][0]).toContain(
      'packages/p/src/one.ts → packages/q/src/index.ts → packages/q/src/sub/index.ts → packages/p/src/one.ts',
    );
  });

  it('find no cycle in a tree whose imports go one way', () => {
    const files = [
      { path: 'packages/p/src/a.ts', text: "import { b } from './b.js';\nimport { c } from './c.js';" },
      { path: 'packages/p/src/b.ts', text: "import { c } from './c.js';" },
      { path: 'packages/p/src/c.ts', text: "import { readFileSync } from 'node:fs';" },
    ];
    expect(importCycles(importGraph(files)).size).toBe(0);
  });

  it('flag each Kysely builder call outside the store, and none inside it', () => {
    const found = sqlOutsideStore([
      { path: 'packages/control-plane/src/store/deployments.ts', text: "db.selectFrom('x')" },
      {
        path: 'packages/control-plane/src/engine/engine.ts',
        text: "db.updateTable('x'); db.transaction().execute(f)",
      },
      { path: 'packages/control-plane/src/audit/audit-log.ts', text: 'await sql`select 1`.execute(db)' },
      { path: 'packages/control-plane/src/api/routes.ts', text: 'store.transaction(async (tx) => tx)' },
    ]);
    expect([...found.keys()].sort()).toEqual([
      'packages/control-plane/src/audit/audit-log.ts',
      'packages/control-plane/src/engine/engine.ts',
    ]);
    expect(found.get('packages/control-plane/src/engine/engine.ts')).toContain(
      'updateTable(, .transaction()',
    );
  });

  it("flag the CLI's dependency on the control plane and each file importing it", () => {
    const found = cliOnControlPlane(
      JSON.stringify({ dependencies: { '@borealis/control-plane': 'workspace:*', commander: '^14' } }),
      [
        { path: 'packages/cli/src/a.ts', text: "import type { View } from '@borealis/control-plane';" },
        { path: 'packages/cli/src/b.ts', text: "import { spec } from '@borealis/deploy-spec';" },
      ],
    );
    expect([...found.keys()]).toEqual(['packages/cli/package.json dependencies', 'packages/cli/src/a.ts']);
    expect(cliOnControlPlane(JSON.stringify({ dependencies: { commander: '^14' } }), []).size).toBe(0);
  });

  it('flag a path a document names that does not exist', () => {
    const doc =
      'The engine (`packages/control-plane/src/engine/engine.ts`) and [the relay](../packages/gone/x.ts).';
    const exists = (p: string) => p === 'packages/control-plane/src/engine/engine.ts';
    expect([...missingPaths(doc, exists).keys()]).toEqual(['packages/gone/x.ts']);
  });

  it('fail on a new offender and on a listed one that no longer offends', () => {
    const found = new Map([
      ['a.ts', 'a.ts is too big'],
      ['b.ts', 'b.ts is too big'],
    ]);
    expect(compareWithKnown(found, ['a.ts', 'b.ts'])).toEqual([]);
    expect(compareWithKnown(found, ['a.ts'])).toEqual(['b.ts is too big']);
    expect(compareWithKnown(found, ['a.ts', 'b.ts', 'c.ts'])).toEqual([
      'c.ts no longer violates: remove it from KNOWN_VIOLATIONS',
    ]);
  });

  it('know a cycle by some of its files, even when it grows, and fail when it is gone or new', () => {
    const found = new Map([['a.ts + b.ts + c.ts', 'import cycle a.ts → b.ts → a.ts']]);
    expect(compareCyclesWithKnown(found, ['a.ts + b.ts'])).toEqual([]);
    expect(compareCyclesWithKnown(found, [])).toEqual(['import cycle a.ts → b.ts → a.ts']);
    expect(compareCyclesWithKnown(found, ['a.ts + b.ts', 'd.ts + e.ts'])).toEqual([
      'd.ts + e.ts are no longer in one import cycle: remove the entry from KNOWN_VIOLATIONS',
    ]);
  });
});
