/**
 * Pathological input: each must give a clear diagnostic and never throw. How long each takes is
 * measured by `node test/bench/deployfile-bench.mjs` (against a plain file, same run), not asserted
 * here: this machine is shared and a wall-clock budget in a test fails on load, not on a bug. A
 * parser that hangs still fails here, on the test's time-out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Diagnostic, MAX_DEPLOY_FILE_BYTES, parseDeployFile } from './index.js';

function timed(input: string | Uint8Array): { diagnostics: Diagnostic[]; codes: string[] } {
  const { diagnostics } = parseDeployFile(input);
  return { diagnostics, codes: diagnostics.map((d) => d.code) };
}

const valid = `application: app
targets:
  dev:
    account: dev-agent
manifests: [{path: k8s/app.yaml}]
`;

describe('pathological deploy files', () => {
  it('a 10 MB file is refused by size, as text and as bytes', () => {
    const big = `${valid}context:\n${'  k: v\n'.repeat((10 * 1024 * 1024) / 7)}`;
    for (const input of [big, new TextEncoder().encode(big)]) {
      const r = timed(input);
      expect(r.codes).toEqual(['BRL_DF_TOO_LARGE']);
      expect(r.diagnostics[0]?.message).toMatch(/bytes/);
    }
  });

  it('one byte over the limit is refused; multi-byte characters count as bytes', () => {
    expect(timed('#'.repeat(MAX_DEPLOY_FILE_BYTES + 1)).codes).toEqual(['BRL_DF_TOO_LARGE']);
    expect(timed('é'.repeat(MAX_DEPLOY_FILE_BYTES / 2 + 1)).codes).toEqual(['BRL_DF_TOO_LARGE']);
  });

  it('deep flow nesting (100 000 levels) is refused before the YAML parser sees it', () => {
    const r = timed(`${valid}context: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    expect(r.codes).toEqual(['BRL_DF_TOO_DEEP']);
    expect(r.diagnostics[0]).toMatchObject({ line: 6 });
  });

  it('deep flow mappings and brackets hidden in strings do not fool the depth check', () => {
    expect(timed(`a: ${'{a: '.repeat(5_000)}1${'}'.repeat(5_000)}\n`).codes).toEqual(['BRL_DF_TOO_DEEP']);
    // Brackets inside quotes and block scalars are text: a legitimate file with many of them.
    const text = `${valid}context:\n  a: "${'[{'.repeat(500)}"\n  b: |\n    ${'['.repeat(500)}\n`;
    expect(timed(text).codes).toEqual([]);
  });

  it('deep block nesting (3 000 levels) gives a diagnostic, not a crash', () => {
    let text = '';
    for (let i = 0; i < 3000; i++) text += `${' '.repeat(i)}a:\n`;
    const r = timed(text);
    expect(r.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    expect(r.codes).not.toContain('BRL_DF_INTERNAL');
  });

  it('deep block sequences (- - - ...) give a diagnostic, not a crash', () => {
    const r = timed(`${'- '.repeat(5000)}x\n`);
    expect(r.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    expect(r.codes).not.toContain('BRL_DF_INTERNAL');
  });

  it('a width alias bomb (many targets sharing a long anchored step list) is capped', () => {
    const steps = Array.from({ length: 100 }, () => '        - pause: {duration: 1, unit: seconds}').join(
      '\n',
    );
    let text = `application: app\nmanifests: [{path: k8s/app.yaml}]\ntargets:\n  t0:\n    constraints:\n      beforeDeployment: &steps\n${steps}\n`;
    for (let i = 1; i < 80; i++) text += `  t${i}:\n    constraints:\n      beforeDeployment: *steps\n`;
    const r = timed(text);
    expect(r.codes).toEqual(['BRL_DF_ALIAS_LIMIT']);
  });

  it('a billion-laughs bomb where values are kept as written is capped', () => {
    const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [n, p] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
      ['g', 'f'],
      ['h', 'g'],
    ]) {
      lol.push(`${n}: &${n} [${Array(9).fill(`*${p}`).join(',')}]`);
    }
    // Lambda alias entries are the part of the file kept as written.
    const lambda = `application: app
kind: lambda
targets:
  dev: {account: aws, deployAsIamRole: arn:aws:iam::000000000000:role/Deployer, region: eu-north-1}
artifacts: [{functionName: fn, path: s3://bucket/fn.zip, type: zipFile}]
`;
    const text = `${lambda}trafficManagement:\n  - alias:\n${lol.map((l) => `      - ${l}`).join('\n')}\n`;
    const r = timed(text);
    expect(r.codes).toEqual(['BRL_DF_ALIAS_LIMIT']);
  });

  it('multiple documents, a top-level list, a scalar, whitespace and a lone "---" are diagnosed', () => {
    expect(timed(`${valid}---\n${valid}`).codes).toEqual(['BRL_DF_MULTIPLE_DOCUMENTS']);
    expect(timed('- a\n- b\n').codes).toEqual(['BRL_DF_TYPE']);
    expect(timed('42\n').codes).toEqual(['BRL_DF_TYPE']);
    expect(timed('').codes).toEqual(['BRL_DF_EMPTY']);
    expect(timed(' \n\n\t\n').codes).toEqual(['BRL_DF_EMPTY']);
    expect(timed('---\n').codes).toEqual(['BRL_DF_EMPTY']);
    expect(timed(new Uint8Array()).codes).toEqual(['BRL_DF_EMPTY']);
  });

  it('a UTF-8 byte-order mark is accepted', () => {
    expect(timed(`\uFEFF${valid}`).codes).toEqual([]);
  });

  it('a large but legitimate file (just under the limit) is read in reasonable time', () => {
    const manifest = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'data:',
      ...Array(200).fill('  key: some value that is long enough'),
    ];
    const lines = [valid.replace(/^manifests:.*\n/m, '').trimEnd(), 'manifests:'];
    let size = 0;
    while (size < 900 * 1024) {
      const entry = ['  - inline: |', ...manifest.map((l) => `      ${l}`)].join('\n');
      lines.push(entry);
      size += entry.length;
    }
    const text = `${lines.join('\n')}\n`;
    const r = timed(text);
    expect(r.codes).toEqual([]);
  });
});

describe('fuzz: parseDeployFile never throws', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const { diagnostics } = parseDeployFile(bytes);
        expect(Array.isArray(diagnostics)).toBe(true);
        expect(diagnostics.map((d) => d.code)).not.toContain('BRL_DF_INTERNAL');
      }),
      { numRuns: 300 },
    );
  });

  it('on mutations of a valid deploy file', () => {
    const base = `application: app
manifests: [{path: k8s/app.yaml}]
targets:
  dev:
    account: dev-agent
    strategy: c
    constraints:
      dependsOn: [prod]
      beforeDeployment:
        - runWebhook:
            name: hook
            context: {a: b}
  prod:
    account: prod-agent
strategies:
  c:
    canary:
      steps:
        - setWeight: {weight: 10}
        - pause: {untilApproved: true}
webhooks:
  - name: hook
    method: POST
    uriTemplate: https://h.example/{{context.a}}
    headers:
      - key: Content-Type
        value: application/json
    bodyTemplate:
      inline: '{"cb": "{{armory.callbackUri}}/callback"}'
`;
    const pieces = [
      '{{',
      '}}',
      ':',
      '-',
      ' ',
      '\n',
      '[',
      ']',
      '{',
      '}',
      '"',
      "'",
      '&a',
      '*a',
      '#',
      '|',
      '>',
      '!!str',
      '\t',
      '0',
      'null',
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: base.length }), fc.nat({ max: 20 }), fc.constantFrom(...pieces)), {
          minLength: 1,
          maxLength: 6,
        }),
        (edits) => {
          let text = base;
          for (const [at, del, insert] of edits) text = text.slice(0, at) + insert + text.slice(at + del);
          const { diagnostics } = parseDeployFile(text);
          expect(diagnostics.map((d) => d.code)).not.toContain('BRL_DF_INTERNAL');
          for (const d of diagnostics) {
            expect(d.line).toBeGreaterThanOrEqual(1);
            expect(d.column).toBeGreaterThanOrEqual(1);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
