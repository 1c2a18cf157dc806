import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deployFileReference } from './reference.js';

/** docs/deploy-file-reference.md is generated from the parser's schema and never drifts from it. */
describe('docs/deploy-file-reference.md', () => {
  const page = readFileSync(new URL('../../../../docs/deploy-file-reference.md', import.meta.url), 'utf8');

  it('is what the schema the parser uses generates', () => {
    // On failure: run `pnpm exec tsc -b && node scripts/gen-deploy-file-reference.mjs` and commit.
    expect(
      page === deployFileReference(),
      'docs/deploy-file-reference.md differs from the schema: run `pnpm exec tsc -b && node scripts/gen-deploy-file-reference.mjs` and commit the page',
    ).toBe(true);
  });

  it('names every top-level key the parser knows, and the keys people write most', () => {
    for (const key of ['application', 'targets', 'strategies', 'webhooks', 'manifests', 'context'])
      expect(page).toContain(`| \`${key}\` |`);
    for (const key of [
      'uriTemplate',
      'networkMode',
      'agentIdentifier',
      'untilApproved',
      'dependsOn',
      'setWeight',
    ])
      expect(page, key).toContain(`\`${key}\``);
  });

  it('every relative link in docs/ and the README points at a file that exists', () => {
    const files = [
      ...readdirSync(new URL('../../../../docs/', import.meta.url))
        .filter((f) => f.endsWith('.md'))
        .map((f) => new URL(`../../../../docs/${f}`, import.meta.url)),
      new URL('../../../../README.md', import.meta.url),
    ];
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(new URL(target, file)))
          broken.push(`${file.pathname.split('/').slice(-2).join('/')} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
