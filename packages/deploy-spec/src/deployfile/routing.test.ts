import { describe, expect, it } from 'vitest';
import { agentFor, suggestIdentifier } from './index.js';

describe('agentFor: a remote webhook goes to its agentIdentifier, else to the target account', () => {
  it('a remote webhook with an agentIdentifier goes there, whatever the account', () => {
    expect(agentFor({ networkMode: 'remoteNetworkAgent', agentIdentifier: 'rna' }, 'prod-cluster')).toBe(
      'rna',
    );
  });
  it('a remote webhook without one goes to the account', () => {
    expect(agentFor({ networkMode: 'remoteNetworkAgent' }, 'prod-cluster')).toBe('prod-cluster');
  });
  it('a remote webhook with neither goes nowhere', () => {
    expect(agentFor({ networkMode: 'remoteNetworkAgent' }, undefined)).toBeUndefined();
    expect(agentFor({ networkMode: 'remoteNetworkAgent' }, '')).toBeUndefined();
  });
  it('a direct webhook goes to no agent, even with an agentIdentifier', () => {
    expect(agentFor({ networkMode: 'direct', agentIdentifier: 'rna' }, 'prod-cluster')).toBeUndefined();
  });
  it('suggests an identifier an agent can have', () => {
    expect(suggestIdentifier('prod eu')).toBe('prod-eu');
    expect(suggestIdentifier(' Prod/EU 1 ')).toBe('Prod-EU-1');
  });
});
