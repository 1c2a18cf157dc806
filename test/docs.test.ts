import { readFileSync } from 'node:fs';
import { AgentErrorCatalogue, OptionEnv as AgentOptionEnv } from '@borealis/agent';
import { ErrorCatalogue, OptionEnv } from '@borealis/control-plane';
import { ProtocolErrorCatalogue } from '@borealis/protocol';
import { describe, expect, it } from 'vitest';

/** Every error code is documented (docs/errors.md), and the page lists no code that is gone. */
const page = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...page.matchAll(/^\| `([A-Z_]+)` \|(.*)\|$/gm)].map((m) => [m[1] as string, (m[2] ?? '').trim()]),
);
const codes = [
  ...Object.keys(ErrorCatalogue),
  ...Object.keys(ProtocolErrorCatalogue),
  ...Object.keys(AgentErrorCatalogue),
];

describe('docs/errors.md', () => {
  it.each(codes)('documents %s with what to do', (code) => {
    const row = documented.get(code);
    expect(row, `${code} is missing: run node scripts/gen-error-docs.mjs`).toBeDefined();
    expect(row?.endsWith('—'), `${code} has no "what to do" text`).toBe(false);
  });

  it('lists only codes that exist', () => {
    expect([...documented.keys()].filter((c) => !codes.includes(c))).toEqual([]);
  });
});

/** Every variable the programs read (their `OptionEnv` tables) is documented where people look. */
describe('environment variables', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const agentReadme = readFileSync(new URL('../packages/agent/README.md', import.meta.url), 'utf8');
  it.each(Object.values(OptionEnv))('the README configuration table has %s', (variable) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${variable}\` \\|`, 'm'));
  });
  it.each(Object.values(AgentOptionEnv))("the agent's README has %s", (variable) => {
    expect(agentReadme).toContain(`\`${variable}\``);
  });
});
