import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useTestStore } from '../../../../test/kit/store.js';
import { isBorealisError } from '../errors.js';
import { sha256Hex } from './hashing.js';
import {
  type AgentCredentialSummary,
  isIdentifierAllowed,
  isWildcardCredential,
  type VerifiedAgentCredential,
} from './index.js';
import { rawDatabase } from './raw-database.test-util.js';

describe.each(TEST_BACKENDS)('agent credentials on $kind', ({ kind }) => {
  const { store } = useTestStore(kind);

  it('creates a credential whose secret verifies and is stored only as a hash', async () => {
    const created = await store.agentCredentials.create({
      name: 'rna-eu',
      allowedIdentifiers: ['prod-*', 'test-rna'],
    });
    expect(created.clientId).toMatch(/^agent_[0-9a-f]{24}$/);
    expect(Buffer.from(created.clientSecret, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(created.allowedIdentifiers).toEqual(['prod-*', 'test-rna']);
    expect(typeof created.createdAt).toBe('number');

    expect(await store.agentCredentials.verify(created.clientId, created.clientSecret)).toEqual({
      clientId: created.clientId,
      name: 'rna-eu',
      allowedIdentifiers: ['prod-*', 'test-rna'],
    });

    const rows = await rawDatabase(store).selectFrom('agent_credentials').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(created.clientSecret);
  });

  it('answers a wrong secret and an unknown client id the same way: null', async () => {
    const created = await store.agentCredentials.create({ allowedIdentifiers: ['rna-1'] });
    expect(await store.agentCredentials.verify(created.clientId, `${created.clientSecret}x`)).toBeNull();
    expect(await store.agentCredentials.verify(created.clientId, '')).toBeNull();
    expect(
      await store.agentCredentials.verify('agent_000000000000000000000000', created.clientSecret),
    ).toBeNull();
    expect(await store.agentCredentials.verify('', '')).toBeNull();
  });

  it('lists active credentials without secrets, and a revoked one neither verifies nor lists', async () => {
    const created = await store.agentCredentials.create({ name: 'to-revoke', allowedIdentifiers: ['rna-1'] });
    const listed = await store.agentCredentials.list();
    const entry = listed.find((c) => c.clientId === created.clientId);
    expect(entry).toEqual({
      clientId: created.clientId,
      name: 'to-revoke',
      allowedIdentifiers: ['rna-1'],
      createdAt: created.createdAt,
    });
    expect(JSON.stringify(listed)).not.toContain(created.clientSecret);
    expect(JSON.stringify(listed)).not.toMatch(/secret/i);

    expect(await store.agentCredentials.revoke(created.clientId)).toBe(true);
    expect(await store.agentCredentials.revoke(created.clientId)).toBe(false);
    expect(await store.agentCredentials.revoke('agent_unknown')).toBe(false);
    expect(await store.agentCredentials.verify(created.clientId, created.clientSecret)).toBeNull();
    expect((await store.agentCredentials.list()).map((c) => c.clientId)).not.toContain(created.clientId);
  });

  it('refuses bad names and identifiers with BRL_ERR_BAD_REQUEST', async () => {
    for (const input of [
      { name: '', allowedIdentifiers: ['ok'] },
      { name: 'x'.repeat(200), allowedIdentifiers: ['ok'] },
      { allowedIdentifiers: 'prod' as unknown as string[] },
      { allowedIdentifiers: ['ok', 'has space'] },
      { allowedIdentifiers: [''] },
      { allowedIdentifiers: ['prod-eu '] },
      { allowedIdentifiers: [' prod-eu'] },
      { allowedIdentifiers: ['prod-\u0435u'] }, // Cyrillic "е": a look-alike of prod-eu
      { allowedIdentifiers: ['prod-eu\u200b'] }, // zero-width space
      { allowedIdentifiers: ['prod/eu'] },
      { allowedIdentifiers: ['prod-eu,staging'] },
      { allowedIdentifiers: [7 as unknown as string] },
    ]) {
      const err = await store.agentCredentials.create(input).catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_BAD_REQUEST'), JSON.stringify(input)).toBe(true);
    }
  });

  it('refuses a credential that names no identifiers, saying how (an explicit "*" for any)', async () => {
    for (const input of [{}, { allowedIdentifiers: [] }, { name: 'n', allowedIdentifiers: null }]) {
      const err = await store.agentCredentials
        .create(input as unknown as { allowedIdentifiers: string[] })
        .catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_BAD_REQUEST'), JSON.stringify(input)).toBe(true);
      const message = (err as Error).message;
      expect(message).toContain('allowedIdentifiers');
      expect(message).toContain('["prod-eu"]');
      expect(message).toContain('["*"]');
    }
    const any = await store.agentCredentials.create({ allowedIdentifiers: ['*'] });
    expect(any.allowedIdentifiers).toEqual(['*']);
  });

  it('check says revoked only to whoever holds the right secret', async () => {
    const created = await store.agentCredentials.create({ allowedIdentifiers: ['rna-1'] });
    expect(await store.agentCredentials.check(created.clientId, created.clientSecret)).toMatchObject({
      status: 'valid',
    });
    await store.agentCredentials.revoke(created.clientId);
    expect(await store.agentCredentials.check(created.clientId, created.clientSecret)).toEqual({
      status: 'revoked',
      clientId: created.clientId,
    });
    expect(await store.agentCredentials.check(created.clientId, 'wrong')).toEqual({ status: 'invalid' });
    expect(await store.agentCredentials.check('agent_nope', created.clientSecret)).toEqual({
      status: 'invalid',
    });
  });

  it('active lists the credentials among ids that are not revoked; identifiers can be replaced', async () => {
    const a = await store.agentCredentials.create({ name: 'a', allowedIdentifiers: ['a-1'] });
    const b = await store.agentCredentials.create({ name: 'b', allowedIdentifiers: ['b-1'] });
    await store.agentCredentials.revoke(b.clientId);
    const active = await store.agentCredentials.active([a.clientId, b.clientId, 'agent_unknown', a.clientId]);
    expect([...active.keys()]).toEqual([a.clientId]);
    expect(active.get(a.clientId)).toEqual({ clientId: a.clientId, name: 'a', allowedIdentifiers: ['a-1'] });
    expect(await store.agentCredentials.active([])).toEqual(new Map());

    const updated = await store.agentCredentials.setAllowedIdentifiers(a.clientId, ['a-2', 'a-*']);
    expect(updated).toMatchObject({ clientId: a.clientId, allowedIdentifiers: ['a-2', 'a-*'] });
    expect((await store.agentCredentials.active([a.clientId])).get(a.clientId)?.allowedIdentifiers).toEqual([
      'a-2',
      'a-*',
    ]);
    expect(await store.agentCredentials.setAllowedIdentifiers(b.clientId, ['b-2'])).toBeNull();
    const err = await store.agentCredentials.setAllowedIdentifiers(a.clientId, []).catch((e: unknown) => e);
    expect(isBorealisError(err, 'BRL_ERR_BAD_REQUEST')).toBe(true);
  });

  it('a credential stored before identifiers were required (empty list) verifies but allows nothing', async () => {
    await rawDatabase(store)
      .insertInto('agent_credentials')
      .values({
        client_id: 'agent_legacy0000000000000000000',
        name: 'legacy',
        secret_hash: sha256Hex('legacy-secret'),
        allowed_identifiers: '[]',
        created_at: Date.now(),
        revoked_at: null,
      })
      .execute();
    const legacy = await store.agentCredentials.verify('agent_legacy0000000000000000000', 'legacy-secret');
    expect(legacy?.allowedIdentifiers).toEqual([]);
    expect(isIdentifierAllowed(legacy as VerifiedAgentCredential, 'prod-eu')).toBe(false);
    expect(isIdentifierAllowed(legacy as VerifiedAgentCredential, 'anything')).toBe(false);
    const fixed = await store.agentCredentials.setAllowedIdentifiers('agent_legacy0000000000000000000', [
      'prod-eu',
    ]);
    expect(isIdentifierAllowed(fixed as AgentCredentialSummary, 'prod-eu')).toBe(true);
  });
});

describe('isIdentifierAllowed', () => {
  // Issue 10 changed this: an empty list used to allow any identifier; now it allows none.
  it('allows no identifier when the list is empty (fail closed)', () => {
    expect(isIdentifierAllowed({ allowedIdentifiers: [] }, 'anything')).toBe(false);
    expect(isIdentifierAllowed({ allowedIdentifiers: [] }, 'prod-eu')).toBe(false);
  });

  it('lets no other spelling of an identifier through', () => {
    const staging = { allowedIdentifiers: ['staging'] };
    const prod = { allowedIdentifiers: ['prod-eu'] };
    for (const spelling of [
      'prod-eu',
      'PROD-EU',
      'Prod-eu',
      'prod-eu ',
      ' prod-eu',
      'prod-\u0435u',
      'prod-eu\u200b',
      '',
      'staging-x',
      'xstaging',
    ]) {
      expect(isIdentifierAllowed(staging, spelling), JSON.stringify(spelling)).toBe(false);
    }
    for (const spelling of ['PROD-EU', 'prod-eu ', 'prod-\u0435u', 'prod-eu\n', 'prod.eu', 'prod-e']) {
      expect(isIdentifierAllowed(prod, spelling), JSON.stringify(spelling)).toBe(false);
    }
    expect(isIdentifierAllowed(prod, 'prod-eu')).toBe(true);
    // A literal matches the whole identifier: a newline does not end the match early.
    expect(isIdentifierAllowed({ allowedIdentifiers: ['staging'] }, 'staging\nprod-eu')).toBe(false);
  });

  it('flags credentials with a "*" pattern as wildcards', () => {
    expect(isWildcardCredential({ allowedIdentifiers: ['*'] })).toBe(true);
    expect(isWildcardCredential({ allowedIdentifiers: ['prod-eu', 'prod-*'] })).toBe(true);
    expect(isWildcardCredential({ allowedIdentifiers: ['prod-eu'] })).toBe(false);
  });

  it('matches literals exactly and * as any run of characters', () => {
    const cred = { allowedIdentifiers: ['prod-*', 'test-rna', '*-canary', 'a.b'] };
    expect(isIdentifierAllowed(cred, 'prod-eu')).toBe(true);
    expect(isIdentifierAllowed(cred, 'prod-')).toBe(true);
    expect(isIdentifierAllowed(cred, 'test-rna')).toBe(true);
    expect(isIdentifierAllowed(cred, 'us-canary')).toBe(true);
    expect(isIdentifierAllowed(cred, 'a.b')).toBe(true);
    expect(isIdentifierAllowed(cred, 'axb')).toBe(false); // '.' is literal, not a regex wildcard
    expect(isIdentifierAllowed(cred, 'preprod-eu')).toBe(false);
    expect(isIdentifierAllowed(cred, 'test-rna-2')).toBe(false);
    expect(isIdentifierAllowed(cred, 'staging')).toBe(false);
  });
});
