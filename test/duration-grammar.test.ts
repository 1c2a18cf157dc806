import { agentOptionsFromEnv, compileAgentOptions } from '@borealis/agent';
import { compileControlPlaneOptions, controlPlaneOptionsFromEnv } from '@borealis/control-plane';
import { formatDuration, parseDuration } from '@borealis/protocol';
import { describe, expect, it } from 'vitest';

/**
 * One duration grammar in both programs (`@borealis/protocol` `parseDuration`), read here through
 * each program's own configuration: the agent's BOREALIS_DRAIN_GRACE and the control plane's
 * BOREALIS_AGENT_WAIT (both accept 0). `undefined`: refused at start.
 */
const GRAMMAR: ReadonlyArray<[text: string, agent: number | undefined, controlPlane: number | undefined]> = [
  ['500ms', 500, 500],
  ['30s', 30_000, 30_000],
  ['1.5s', 1_500, 1_500],
  ['5m', 300_000, 300_000],
  ['24h', 86_400_000, 86_400_000],
  ['1d', 86_400_000, 86_400_000],
  ['0', 0, 0],
  ['0s', 0, 0],
  // A bare number: milliseconds where it always was (the agent), ambiguous where it never was.
  ['250', 250, undefined],
  ['5 minutes', undefined, undefined],
  ['-1s', undefined, undefined],
  ['1w', undefined, undefined],
  ['s', undefined, undefined],
];

const agentBase = {
  BOREALIS_CONTROL_PLANE_URL: 'https://cp.example.com',
  BOREALIS_AGENT_IDENTIFIER: 'prod-eu',
  BOREALIS_CLIENT_ID: 'client',
  BOREALIS_CLIENT_SECRET: 'secret',
};

function agentReads(text: string): number | string {
  try {
    return compileAgentOptions(agentOptionsFromEnv({ ...agentBase, BOREALIS_DRAIN_GRACE: text }))
      .drainGraceMs;
  } catch (err) {
    return (err as Error).message;
  }
}

function controlPlaneReads(text: string): number | string {
  try {
    return compileControlPlaneOptions(controlPlaneOptionsFromEnv({ BOREALIS_AGENT_WAIT: text })).agentWaitMs;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('one duration grammar in both programs', () => {
  it.each(GRAMMAR)('%s', (text, agent, controlPlane) => {
    if (agent === undefined) expect(agentReads(text)).toMatch(/BOREALIS_DRAIN_GRACE .*must be a duration/);
    else expect(agentReads(text)).toBe(agent);
    if (controlPlane === undefined)
      expect(controlPlaneReads(text)).toMatch(/^BOREALIS_AGENT_WAIT=.* is not valid/);
    else expect(controlPlaneReads(text)).toBe(controlPlane);
    expect(parseDuration(text, 'milliseconds')).toBe(agent);
    expect(parseDuration(text, 'refuse')).toBe(controlPlane);
  });

  it('says why a bare number is refused, and how to write it', () => {
    expect(controlPlaneReads('30')).toBe(
      'BOREALIS_AGENT_WAIT=30 is not valid: expected a duration such as 30s, 2m or 10m (0: do not wait) (a bare number is ambiguous: write 30s or 30ms)',
    );
  });

  it('formats with the largest unit that divides the value, as both programs log it', () => {
    expect([500, 1_500, 30_000, 300_000, 7_200_000, 86_400_000, 0].map(formatDuration)).toEqual([
      '500ms',
      '1500ms',
      '30s',
      '5m',
      '2h',
      '1d',
      '0ms',
    ]);
  });
});
