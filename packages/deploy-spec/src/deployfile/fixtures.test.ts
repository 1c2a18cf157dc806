/**
 * Table-driven: every fixture states what it must produce in a header line
 * `# expect: CODE line:col, CODE line:col` (nothing after `expect:` = no diagnostics at all).
 * Valid fixtures must give a spec; invalid ones must not (unless they only expect warnings).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDeployFile } from './index.js';

const root = fileURLToPath(new URL('../../test/fixtures/deployfiles/', import.meta.url));

function expectations(bytes: Buffer): string[] {
  const header = /^# expect:(.*)$/m.exec(bytes.toString('latin1'));
  if (!header) return [];
  return (header[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .sort();
}

function load(dir: string) {
  return readdirSync(`${root}${dir}`)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, bytes: readFileSync(`${root}${dir}/${file}`) }));
}

function run(bytes: Buffer) {
  return { result: parseDeployFile(new Uint8Array(bytes), { fileName: 'fixture.yaml' }) };
}

describe('valid deploy files (product page examples and the full reference)', () => {
  const fixtures = load('valid');
  it('has the product page examples', () => expect(fixtures.length).toBeGreaterThanOrEqual(8));
  for (const { file, bytes } of fixtures) {
    it(file, () => {
      const { result } = run(bytes);
      const got = result.diagnostics.map((d) => `${d.code} ${d.line}:${d.column}`).sort();
      expect(got).toEqual(expectations(bytes));
      expect(result.diagnostics.every((d) => d.severity === 'warning')).toBe(true);
      expect(result.spec).toBeDefined();
    });
  }
});

describe('invalid deploy files', () => {
  const fixtures = load('invalid');
  it('has a corpus of at least 40 broken files', () => expect(fixtures.length).toBeGreaterThanOrEqual(40));
  for (const { file, bytes } of fixtures) {
    it(file, () => {
      const expected = expectations(bytes);
      expect(expected.length, 'fixture must state its expectations').toBeGreaterThan(0);
      const { result } = run(bytes);
      const got = result.diagnostics.map((d) => `${d.code} ${d.line}:${d.column}`).sort();
      expect(got).toEqual(expected);
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      expect(result.spec === undefined).toBe(errors.length > 0);
      for (const d of result.diagnostics) {
        expect(d.message.length).toBeGreaterThan(10);
        expect(d.line).toBeGreaterThanOrEqual(1);
        expect(d.column).toBeGreaterThanOrEqual(1);
      }
    });
  }
});
