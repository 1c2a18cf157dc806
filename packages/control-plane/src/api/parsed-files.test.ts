import { type DeploymentSpec, parseDeployFile } from '@borealis/deploy-spec';
import { describe, expect, it } from 'vitest';
import { PARSED_FILE_MAX_CHARS, ParsedFiles } from './parsed-files.js';

const file = (app: string, pad = '') => `application: ${app}
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]
targets:
  prod: {}
${pad}`;
const spec = (text: string): DeploymentSpec => {
  const parsed = parseDeployFile(text);
  if (!parsed.spec) throw new Error(JSON.stringify(parsed.diagnostics));
  return parsed.spec;
};

describe('parsed deploy files', () => {
  it('gives each start its own copy: what one start changes, the next does not see', () => {
    const kept = new ParsedFiles();
    const text = file('shop');
    kept.keep(text, spec(text));
    // Seen once: not kept yet.
    expect(kept.get(text)).toBeUndefined();
    kept.keep(text, spec(text));
    const first = kept.get(text) as DeploymentSpec;
    expect(first).toEqual(spec(text));
    first.application = 'changed';
    (first.targets as Record<string, unknown>).extra = {};
    const second = kept.get(text) as DeploymentSpec;
    expect(second).toEqual(spec(text));
    expect(second).not.toBe(first);
    // Exactly the same text only.
    expect(kept.get(`${text} `)).toBeUndefined();
  });

  it('keeps at most its capacity, least recently used out first, and no large file', () => {
    const kept = new ParsedFiles(2);
    const twice = (text: string) => {
      kept.keep(text, spec(text));
      kept.keep(text, spec(text));
    };
    for (const app of ['a', 'b']) twice(file(app));
    kept.get(file('a'));
    twice(file('c'));
    expect(kept.size).toBe(2);
    expect(kept.get(file('b'))).toBeUndefined();
    expect(kept.get(file('a'))?.application).toBe('a');
    expect(kept.get(file('c'))?.application).toBe('c');
    const large = file('big', `# ${'x'.repeat(PARSED_FILE_MAX_CHARS)}\n`);
    twice(large);
    expect(kept.get(large)).toBeUndefined();
  });
});
