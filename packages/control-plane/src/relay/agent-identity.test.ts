import { CloseCodes } from '@borealis/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { basicAuth, dialAsAgent, respondOn } from '../../../../test/kit/agent.js';
import {
  closeTestControlPlanes,
  fetchJson,
  startTestControlPlane,
  type TestControlPlaneOptions,
} from '../../../../test/kit/control-plane.js';
import { until } from '../../../../test/kit/until.js';
import { createInProcessNetwork } from '../cluster/index.js';
import type { ControlPlane } from '../server.js';
import { sha256Hex } from '../store/hashing.js';
import { rawDatabase } from '../store/raw-database.test-util.js';
import { createTestDatabase, type TestDatabase } from '../store/test-stores.test-util.js';

/**
 * Agent identity bound to credentials, and revocation that takes effect at once: through the
 * real upgrade handler, relay and API on real sockets, with agents dialled by hand.
 */
const TOKEN = 'test-token-0123456789';
const databases: TestDatabase[] = [];
const sockets: WebSocket[] = [];
const basic = basicAuth;

async function start(options: TestControlPlaneOptions = {}) {
  return startTestControlPlane({
    apiToken: TOKEN,
    heartbeatIntervalMs: 200,
    // Long, so only the mechanism under test can close a session (not the periodic sweep).
    credentialSweepMs: 3_600_000,
    log: 'info',
    ...options,
  }).then((started) => ({ ...started, logs: started.records }));
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await closeTestControlPlanes();
  for (const db of databases.splice(0)) await db.dispose();
});

/** Dials like an agent; resolves on open or on the refusal (status and error body). */
async function dial(cp: ControlPlane, auth: string, identifier: string) {
  const dialled = await dialAsAgent(cp.url, { auth, identifier });
  sockets.push(dialled.ws);
  const error = dialled.status === undefined ? undefined : JSON.parse(dialled.body || '{}').error;
  return { ...dialled, error: error as { code: string; message: string; [k: string]: unknown } | undefined };
}

/** An agent that accepts streams and never answers them: calls stay in flight. */
/** A credential as stored before credentials had to name identifiers (secret `old-secret`, none allowed). */
async function insertLegacyCredential(store: ControlPlane['store'], clientId: string): Promise<void> {
  await rawDatabase(store)
    .insertInto('agent_credentials')
    .values({
      client_id: clientId,
      name: 'old',
      secret_hash: sha256Hex('old-secret'),
      allowed_identifiers: '[]',
      created_at: Date.now(),
      revoked_at: null,
    })
    .execute();
}

const holdStreams = (ws: WebSocket) => respondOn(ws, () => {});

const api = (cp: ControlPlane, method: string, path: string, body?: unknown) =>
  fetchJson(cp.url, TOKEN, method, path, body);

const pool = (cp: ControlPlane, id: string) =>
  cp.hub.list().find((g) => g.agentIdentifier === id)?.connections ?? [];

describe('agent identity: a credential serves only the identifiers it names', () => {
  it('a staging credential cannot join prod-eu by any spelling; the refusal is logged with the fix', async () => {
    const { cp, logs } = await start();
    const staging = await cp.store.agentCredentials.create({
      name: 'staging',
      allowedIdentifiers: ['staging'],
    });
    const auth = basic(staging.clientId, staging.clientSecret);

    const refused = await dial(cp, auth, 'prod-eu');
    expect(refused.status).toBe(403);
    expect(refused.error?.code).toBe('BRL_ERR_AGENT_IDENTIFIER_FORBIDDEN');
    expect(refused.error?.message).toContain('BOREALIS_AGENT_IDENTIFIER');
    expect(refused.error?.message).toContain(
      `borealis agent-credentials set-identifiers ${staging.clientId} --identifier prod-eu`,
    );
    const logged = logs.find(
      (l) => String(l.msg).startsWith('refused an agent connection') && l.agentIdentifier === 'prod-eu',
    );
    expect(logged).toMatchObject({ code: 'BRL_ERR_AGENT_IDENTIFIER_FORBIDDEN', clientId: staging.clientId });
    expect(String(logged?.msg)).toContain('set-identifiers');

    // Other spellings: a different case is another identifier the credential does not name;
    // surrounding spaces are trimmed by HTTP itself, so they name prod-eu; Latin-1 look-alikes
    // and the empty identifier are outside the grammar.
    for (const [spelling, status] of [
      ['PROD-EU', 403],
      ['Prod-Eu', 403],
      ['prod-eu ', 403],
      ['  prod-eu', 403],
      ['prod-\u00e9u', 400],
      ['pr\u00f2d-eu', 400],
      ['', 400],
      ['prod eu', 400],
      ['prod-eu,staging', 400],
      ['staging/../prod-eu', 400],
    ] as const) {
      const r = await dial(cp, auth, spelling);
      expect(r.status, JSON.stringify(spelling)).toBe(status);
    }
    expect(pool(cp, 'prod-eu')).toEqual([]);
    expect(cp.hub.connectionCount).toBe(0);

    const ok = await dial(cp, auth, 'staging');
    expect(ok.status).toBeUndefined();
    await until(() => pool(cp, 'staging').length === 1, 'the staging agent listed');
  });

  it('a wildcard credential is flagged, and a different case is a different pool, never prod-eu', async () => {
    const { cp } = await start();
    const any = await cp.store.agentCredentials.create({ name: 'any', allowedIdentifiers: ['*'] });
    const prod = await cp.store.agentCredentials.create({ name: 'prod', allowedIdentifiers: ['prod-eu'] });
    const upper = await dial(cp, basic(any.clientId, any.clientSecret), 'PROD-EU');
    expect(upper.status).toBeUndefined();
    holdStreams(upper.ws);
    await until(() => pool(cp, 'PROD-EU').length === 1, 'PROD-EU listed');
    await expect(cp.hub.dispatch('prod-eu', { method: 'GET', url: 'http://t/' })).rejects.toMatchObject({
      code: 'BRL_ERR_AGENT_NOT_CONNECTED',
    });
    const real = await dial(cp, basic(prod.clientId, prod.clientSecret), 'prod-eu');
    expect(real.status).toBeUndefined();
    await until(() => pool(cp, 'prod-eu').length === 1, 'prod-eu listed');

    const { json } = await api(cp, 'GET', '/api/v1/agents');
    const byId = Object.fromEntries(
      json.agents.map((a: { agentIdentifier: string; connections: unknown[] }) => [
        a.agentIdentifier,
        a.connections[0],
      ]),
    );
    expect(byId['PROD-EU']).toMatchObject({ wildcard: true, credentialName: 'any', clientId: any.clientId });
    expect(byId['prod-eu']).toMatchObject({
      wildcard: false,
      credentialName: 'prod',
      clientId: prod.clientId,
    });
  });

  it('a credential stored before identifiers were required fails closed, saying how to fix it; fixed, it connects', async () => {
    const { cp } = await start();
    await insertLegacyCredential(cp.store, 'agent_legacy0000000000000000000');
    const auth = basic('agent_legacy0000000000000000000', 'old-secret');
    const refused = await dial(cp, auth, 'prod-eu');
    expect(refused.status).toBe(403);
    expect(refused.error?.code).toBe('BRL_ERR_AGENT_IDENTIFIER_FORBIDDEN');
    expect(refused.error?.message).toContain('created before credentials had to');
    expect(refused.error?.message).toContain(
      'borealis agent-credentials set-identifiers agent_legacy0000000000000000000 --identifier prod-eu',
    );
    const listed = await api(cp, 'GET', '/api/v1/agent-credentials');
    expect(listed.json.credentials).toContainEqual(
      expect.objectContaining({ clientId: 'agent_legacy0000000000000000000', allowedIdentifiers: [] }),
    );

    const fixed = await api(
      cp,
      'PUT',
      '/api/v1/agent-credentials/agent_legacy0000000000000000000/allowed-identifiers',
      { allowedIdentifiers: ['prod-eu'] },
    );
    expect(fixed.status).toBe(200);
    const ok = await dial(cp, auth, 'prod-eu');
    expect(ok.status).toBeUndefined();
  });

  it('a start with such credentials in the store warns, naming them and the fix', async () => {
    const first = await start();
    await insertLegacyCredential(first.cp.store, 'agent_legacy1111111111111111111');
    const dataDir = first.cp.options.dataDir;
    await first.stop();
    const again = await start({ dataDir });
    const warning = again.logs.find((l) => String(l.msg).includes('name no agent identifiers'));
    expect(warning).toMatchObject({ level: 40, clientIds: ['agent_legacy1111111111111111111'] });
    expect(String(warning?.msg)).toContain('set-identifiers');
  });

  it('narrowing a credential closes the connections it no longer covers, and only those', async () => {
    const { cp } = await start();
    const c = await cp.store.agentCredentials.create({ allowedIdentifiers: ['eu-1', 'eu-2'] });
    const auth = basic(c.clientId, c.clientSecret);
    const one = await dial(cp, auth, 'eu-1');
    const two = await dial(cp, auth, 'eu-2');
    holdStreams(one.ws);
    holdStreams(two.ws);
    await until(() => cp.hub.connectionCount === 2, 'both connected');
    const res = await api(cp, 'PUT', `/api/v1/agent-credentials/${c.clientId}/allowed-identifiers`, {
      allowedIdentifiers: ['eu-1'],
    });
    expect(res.status).toBe(200);
    expect((await two.closed).code).toBe(CloseCodes.identifierNotAllowed);
    expect(pool(cp, 'eu-2')).toEqual([]);
    expect(pool(cp, 'eu-1')).toHaveLength(1);
  });
});

describe('revocation is immediate', () => {
  it('DELETE closes the live session at once (distinct close code); its in-flight calls fail as disconnected', async () => {
    const { cp, logs } = await start();
    const c = await cp.store.agentCredentials.create({ allowedIdentifiers: ['rna-revoke'] });
    const agent = await dial(cp, basic(c.clientId, c.clientSecret), 'rna-revoke');
    holdStreams(agent.ws);
    await until(() => cp.hub.connectionCount === 1, 'connected');
    const inFlight = cp.hub.dispatch('rna-revoke', { method: 'GET', url: 'http://t/slow' });
    const outcome = inFlight.then(
      (res) =>
        new Promise((resolve) => {
          res.body.on('error', resolve);
          res.body.resume();
        }),
      (err: unknown) => err,
    );
    await until(() => cp.hub.streamsInFlight === 1, 'the call in flight');

    const res = await api(cp, 'DELETE', `/api/v1/agent-credentials/${c.clientId}`);
    expect(res.status).toBe(204);
    // Answered after this replica's sessions were closed: nothing of it is left to dispatch to.
    expect(cp.hub.connectionCount).toBe(0);
    expect(await outcome).toMatchObject({ code: 'BRL_ERR_AGENT_DISCONNECTED' });
    const closed = await agent.closed;
    expect(closed.code).toBe(CloseCodes.credentialRevoked);
    expect(closed.reason).toContain('revoked');
    expect(logs.some((l) => String(l.msg).includes('was revoked'))).toBe(true);

    const again = await dial(cp, basic(c.clientId, c.clientSecret), 'rna-revoke');
    expect(again.status).toBe(401);
    expect(again.error?.code).toBe('BRL_ERR_AGENT_CREDENTIAL_REVOKED');
    expect(again.error?.message).toContain('borealis agent-credentials create');
    // Only the holder of the secret learns "revoked"; a wrong secret is just invalid.
    const wrong = await dial(cp, basic(c.clientId, 'guess'), 'rna-revoke');
    expect(wrong.error?.code).toBe('BRL_ERR_AGENT_AUTH');
  });

  it('an authentication that raced the revocation does not survive it (checked again once registered)', async () => {
    const { cp } = await start();
    const c = await cp.store.agentCredentials.create({ allowedIdentifiers: ['rna-race'] });
    const check = cp.store.agentCredentials.check;
    // The credential is verified, then revoked (and the revocation's notice handled: no session
    // yet) before the session registers: the worst interleaving.
    cp.store.agentCredentials.check = async (id, secret) => {
      const verdict = await check(id, secret);
      const res = await api(cp, 'DELETE', `/api/v1/agent-credentials/${c.clientId}`);
      expect(res.status).toBe(204);
      return verdict;
    };
    const agent = await dial(cp, basic(c.clientId, c.clientSecret), 'rna-race');
    cp.store.agentCredentials.check = check;
    expect(agent.status).toBeUndefined();
    expect((await agent.closed).code).toBe(CloseCodes.credentialRevoked);
    await until(() => cp.hub.connectionCount === 0, 'the raced session gone');
  });

  it('a revocation nobody announced (written straight to the store) is caught by the sweep', async () => {
    const { cp } = await start({ credentialSweepMs: 100 });
    const c = await cp.store.agentCredentials.create({ allowedIdentifiers: ['rna-sweep'] });
    const agent = await dial(cp, basic(c.clientId, c.clientSecret), 'rna-sweep');
    holdStreams(agent.ws);
    await until(() => cp.hub.connectionCount === 1, 'connected');
    await cp.store.agentCredentials.revoke(c.clientId);
    expect((await agent.closed).code).toBe(CloseCodes.credentialRevoked);
  });

  it('a revocation on one replica closes the sessions on the other (shared PostgreSQL, cluster bus)', async () => {
    const db = await createTestDatabase('postgres');
    databases.push(db);
    const network = createInProcessNetwork();
    const common = {
      databaseUrl: db.databaseUrl,
      secretKey: Buffer.alloc(32, 7).toString('base64'),
    };
    const a = await start({ ...common, replicaId: 'replica-a', clusterBus: network.join() });
    const b = await start({ ...common, replicaId: 'replica-b', clusterBus: network.join() });
    const c = await a.cp.store.agentCredentials.create({ allowedIdentifiers: ['rna-multi'] });
    const onB = await dial(b.cp, basic(c.clientId, c.clientSecret), 'rna-multi');
    holdStreams(onB.ws);
    await until(() => pool(a.cp, 'rna-multi').length === 1, 'A sees the agent on B');
    // A call from A, forwarded to B's agent, in flight when the credential is revoked on A.
    const forwarded = a.cp.hub.dispatch('rna-multi', { method: 'GET', url: 'http://t/' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    await until(() => b.cp.hub.streamsInFlight === 1, 'the forwarded call in flight on B');
    expect((await api(a.cp, 'DELETE', `/api/v1/agent-credentials/${c.clientId}`)).status).toBe(204);
    expect((await onB.closed).code).toBe(CloseCodes.credentialRevoked);
    expect(await forwarded).toMatchObject({ code: 'BRL_ERR_AGENT_DISCONNECTED' });
    await until(() => pool(a.cp, 'rna-multi').length === 0, 'A no longer lists it');
  });

  it('revocations racing authentications on another replica: no session survives, whatever the interleaving', async () => {
    const db = await createTestDatabase('postgres');
    databases.push(db);
    const network = createInProcessNetwork();
    const common = { databaseUrl: db.databaseUrl, secretKey: Buffer.alloc(32, 9).toString('base64') };
    const a = await start({ ...common, replicaId: 'race-a', clusterBus: network.join() });
    const b = await start({ ...common, replicaId: 'race-b', clusterBus: network.join() });
    for (let i = 0; i < 20; i++) {
      const c = await a.cp.store.agentCredentials.create({ allowedIdentifiers: ['rna-race'] });
      const [dialled, revoked] = await Promise.all([
        dial(b.cp, basic(c.clientId, c.clientSecret), 'rna-race'),
        // A little later, at a different moment each time.
        new Promise((r) => setTimeout(r, i % 5)).then(() =>
          api(a.cp, 'DELETE', `/api/v1/agent-credentials/${c.clientId}`),
        ),
      ]);
      expect(revoked.status).toBe(204);
      if (dialled.status !== undefined) {
        expect(dialled.status).toBe(401);
        expect(dialled.error?.code).toBe('BRL_ERR_AGENT_CREDENTIAL_REVOKED');
      } else {
        expect((await dialled.closed).code).toBe(CloseCodes.credentialRevoked);
      }
      await until(() => b.cp.hub.sessionsOf(c.clientId).length === 0, 'no session of the revoked credential');
    }
  });
});
