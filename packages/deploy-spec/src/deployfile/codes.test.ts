import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DiagnosticCatalogue } from './index.js';

const docPath = fileURLToPath(new URL('../../../../docs/deploy-file-diagnostics.md', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));

describe('diagnostic catalogue', () => {
  const codes = Object.keys(DiagnosticCatalogue);

  it('every code is documented in docs/deploy-file-diagnostics.md', () => {
    const doc = readFileSync(docPath, 'utf8');
    const undocumented = codes.filter((code) => !doc.includes(`| \`${code}\` |`));
    expect(undocumented).toEqual([]);
  });

  it('the documentation lists no code the catalogue does not have', () => {
    const doc = readFileSync(docPath, 'utf8');
    const listed = [...doc.matchAll(/^\| `(BRL_DF_[A-Z_]+)` \| (error|warning) \|/gm)];
    expect(listed.map((m) => m[1]).sort()).toEqual([...codes].sort());
    for (const m of listed) {
      expect(m[2]).toBe(DiagnosticCatalogue[m[1] as keyof typeof DiagnosticCatalogue].severity);
    }
  });

  it('every code is raised somewhere in the validator (no dead codes)', () => {
    const source = readdirSync(here)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'codes.ts')
      .map((f) => readFileSync(`${here}${f}`, 'utf8'))
      .join('\n');
    const unused = codes.filter((code) => !source.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });
});
