import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  cliOnControlPlane,
  compareCyclesWithKnown,
  compareWithKnown,
  importCycles,
  importGraph,
  isProductSource,
  missingPaths,
  oversizedFiles,
  type SourceFile,
  sqlOutsideStore,
} from './architecture/checks.js';

/**
 * The floor plan, checked on the real tree: small files, no import cycles, SQL only in the store,
 * a CLI that does not carry the control plane, and docs/architecture.md naming only files that
 * exist. Each KNOWN_VIOLATIONS list holds exactly today's offenders, being fixed: a new offender
 * fails, and so does a listed one that no longer offends (delete its line), so a list only shrinks.
 */
const KNOWN_VIOLATIONS = {
  /** (a) Source files over 450 lines. */
  oversized: [] as string[],
  /**
   * (b) Import cycles, each named by files it holds (joined with ` + `). Type-only imports count:
   * a type that makes a lower floor import a higher one is a cycle in the plan though no code runs.
   */
  cycles: [] as string[],
  /** (c) Files outside packages/control-plane/src/store/ that build SQL with Kysely. */
  sqlOutsideStore: [] as string[],
  /** (d) The CLI's ties to @borealis/control-plane (its package.json field, or the importing file; the deploy-spec work). */
  cliOnControlPlane: [] as string[],
};

const root = fileURLToPath(new URL('../', import.meta.url));

function walk(dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length).split('\\').join('/'));
}

function productSources(): SourceFile[] {
  const paths = readdirSync(join(root, 'packages')).flatMap((pkg) => [
    ...walk(`packages/${pkg}/src`),
    ...walk(`packages/${pkg}/ui-assets`),
  ]);
  return paths
    .filter(isProductSource)
    .sort()
    .map((path) => ({ path, text: readFileSync(join(root, path), 'utf8') }));
}

const sources = productSources();
const explain = (problems: string[]) => `\n${problems.join('\n')}\n`;

describe('the architecture of the tree', () => {
  it('reads the source files it checks', () => {
    expect(sources.length).toBeGreaterThan(100);
    expect(sources.some((f) => f.path === 'packages/control-plane/src/server.ts')).toBe(true);
  });

  it('has no source file over 450 lines', () => {
    const problems = compareWithKnown(oversizedFiles(sources), KNOWN_VIOLATIONS.oversized);
    expect(problems, explain(problems)).toEqual([]);
  });

  it('has no import cycle between source files', () => {
    const problems = compareCyclesWithKnown(importCycles(importGraph(sources)), KNOWN_VIOLATIONS.cycles);
    expect(problems, explain(problems)).toEqual([]);
  });

  it('builds SQL only in packages/control-plane/src/store/', () => {
    const problems = compareWithKnown(sqlOutsideStore(sources), KNOWN_VIOLATIONS.sqlOutsideStore);
    expect(problems, explain(problems)).toEqual([]);
  });

  it('keeps the CLI off @borealis/control-plane', () => {
    const found = cliOnControlPlane(
      readFileSync(join(root, 'packages/cli/package.json'), 'utf8'),
      sources.filter((f) => f.path.startsWith('packages/cli/')),
    );
    const problems = compareWithKnown(found, KNOWN_VIOLATIONS.cliOnControlPlane);
    expect(problems, explain(problems)).toEqual([]);
  });

  it('names in docs/architecture.md only files that exist', () => {
    const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
    const problems = [...missingPaths(doc, (p) => existsSync(join(root, p))).values()];
    expect(problems, explain(problems)).toEqual([]);
  });
});
