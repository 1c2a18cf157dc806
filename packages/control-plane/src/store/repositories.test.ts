import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useTestStore } from '../../../../test/kit/store.js';
import { rawDatabase } from './raw-database.test-util.js';

/** The repositories that took over SQL once written in other folders, on both databases. */
describe.each(TEST_BACKENDS)('store repositories on $kind', ({ kind }) => {
  const { store } = useTestStore(kind);

  /** A RUNNING deployment row of application `<app>-<id>`, leased (to 9,000) when it has an owner. */
  const runningRow = (app: string, id: string, lease_owner: string | null) => ({
    id,
    application: `${app}-${id}`,
    status: 'RUNNING',
    active_application: `${app}-${id}`,
    spec: '{}',
    context: '{}',
    state: '{}',
    message: null as string | null,
    created_by: 'test',
    created_at: 1_000,
    updated_at: 1_000,
    finished_at: null,
    wake_at: null,
    lease_owner,
    lease_expires_at: lease_owner ? 9_000 : null,
    version: 1,
  });

  it('sealed secrets: insert once, reseal, list, find by key, delete', async () => {
    const row = { name: 'tok', ciphertext: 'v1.a.b', key_id: 'k1' };
    expect(await store.sealedSecrets.insertIfAbsent(row, 1_000)).toBe(true);
    expect(await store.sealedSecrets.insertIfAbsent(row, 2_000)).toBe(false);
    expect(await store.sealedSecrets.reseal({ ...row, key_id: 'k2' }, 3_000)).toEqual({
      createdAt: 1_000,
      updatedAt: 3_000,
    });
    expect(await store.sealedSecrets.reseal({ ...row, name: 'absent' }, 3_000)).toBeUndefined();
    expect(await store.sealedSecrets.list()).toEqual([{ name: 'tok', createdAt: 1_000, updatedAt: 3_000 }]);
    expect(await store.sealedSecrets.sealed(['tok', 'absent'])).toEqual([{ ...row, key_id: 'k2' }]);
    expect(await store.sealedSecrets.sealed([])).toEqual([]);
    expect(await store.sealedSecrets.sealedWithOtherKey('k2')).toBeUndefined();
    expect(await store.sealedSecrets.sealedWithOtherKey('k1')).toEqual({
      example: { ...row, key_id: 'k2' },
      count: 1,
    });
    expect(await store.sealedSecrets.delete('tok')).toBe(true);
    expect(await store.sealedSecrets.delete('tok')).toBe(false);
  });

  it('cluster settings: the first value stored stays', async () => {
    expect(await store.clusterSettings.putIfAbsent('cluster_id', 'first')).toBe('first');
    expect(await store.clusterSettings.putIfAbsent('cluster_id', 'second')).toBe('first');
  });

  it('target drivers: the first choice stays; Kubernetes agents are remembered', async () => {
    const target = { deploymentId: 'd1', environment: 'prod', application: 'shop' };
    await store.targetDrivers.choose(target, { driver: 'kubernetes', reason: 'first' }, 1_000);
    await store.targetDrivers.choose(target, { driver: 'simulated', reason: 'second' }, 2_000);
    await store.targetDrivers.choose(
      { ...target, environment: 'dev' },
      { driver: 'simulated', reason: 'dev' },
      3_000,
    );
    expect(await store.targetDrivers.chosen('d1', 'prod')).toEqual({ driver: 'kubernetes', reason: 'first' });
    expect(await store.targetDrivers.chosen('d1', 'qa')).toBeUndefined();
    expect((await store.targetDrivers.driversOf('d1')).sort()).toEqual(['kubernetes', 'simulated']);
    expect(await store.targetDrivers.latest('shop', 'dev')).toEqual({ driver: 'simulated', reason: 'dev' });
    expect(await store.targetDrivers.isKubernetesAgent('prod-eu')).toBe(false);
    await store.targetDrivers.markKubernetesAgent('prod-eu', 1_000);
    await store.targetDrivers.markKubernetesAgent('prod-eu', 2_000);
    expect(await store.targetDrivers.isKubernetesAgent('prod-eu')).toBe(true);
  });

  it('rollout records and simulated targets: put replaces, latest is the newest', async () => {
    const a = { deploymentId: 'd1', environment: 'prod', application: 'shop' };
    await store.kubernetesRollouts.put(a, '{"n":1}', 1_000);
    await store.kubernetesRollouts.put(a, '{"n":2}', 2_000);
    await store.kubernetesRollouts.put({ ...a, deploymentId: 'd2' }, '{"n":3}', 3_000);
    expect(await store.kubernetesRollouts.get('d1', 'prod')).toBe('{"n":2}');
    expect(await store.kubernetesRollouts.get('d1', 'dev')).toBeUndefined();
    expect(await store.kubernetesRollouts.latest('shop', 'prod')).toBe('{"n":3}');
    expect(await store.kubernetesRollouts.latest('shop', 'dev')).toBeUndefined();

    expect(await store.simulatedTargets.get('shop', 'prod')).toBeUndefined();
    await store.simulatedTargets.put('shop', 'prod', '{"v":1}', 1_000);
    await store.simulatedTargets.put('shop', 'prod', '{"v":2}', 2_000);
    expect(await store.simulatedTargets.get('shop', 'prod')).toBe('{"v":2}');
  });

  it('audit log: newest first with filters; per deployment oldest first', async () => {
    await store.auditLog.insert({ who: 'ann', action: 'approve', deploymentId: 'a1', at: 1_000 });
    await store.auditLog.insert({ who: 'bob', action: 'cancel', deploymentId: 'a1', at: 2_000 });
    await store.auditLog.insert({ who: 'ann', action: 'token.create', at: 3_000, details: { id: 't' } });
    const all = await store.auditLog.list({ limit: 10 });
    expect(all.map((r) => r.at)).toEqual([3_000, 2_000, 1_000]);
    expect((await store.auditLog.list({ who: 'ann', limit: 10 })).map((r) => r.action)).toEqual([
      'token.create',
      'approve',
    ]);
    expect((await store.auditLog.list({ since: 2_000, limit: 1 })).map((r) => r.at)).toEqual([3_000]);
    expect((await store.auditLog.forDeployment('a1')).map((r) => r.who)).toEqual(['ann', 'bob']);
  });

  it('counts by status: unfinished deployments, webhook runs asked for', async () => {
    const deployment = (id: string, status: string) => ({
      id,
      application: `app-${id}`,
      status,
      active_application: null,
      spec: '{}',
      context: '{}',
      state: '{}',
      message: null,
      created_by: 'test',
      created_at: 1_000,
      updated_at: 1_000,
      finished_at: null,
      wake_at: null,
      lease_owner: null,
      lease_expires_at: null,
      version: 1,
    });
    for (const [id, status] of [
      ['c1', 'RUNNING'],
      ['c2', 'RUNNING'],
      ['c3', 'QUEUED'],
      ['c4', 'SUCCEEDED'],
    ] as const)
      await store.deployments.insert(deployment(id, status), [], []);
    const counts = await store.deployments.unfinishedCounts();
    expect(counts.sort((x, y) => x.status.localeCompare(y.status))).toEqual([
      { status: 'QUEUED', count: 1 },
      { status: 'RUNNING', count: 2 },
    ]);
    expect(await store.webhookRuns.countByStatus(['pending'])).toEqual([]);
    expect(await store.webhookRuns.countByStatus([])).toEqual([]);
  });

  it('leases: a replica lease holds its deployments past their own expiry, renewed as one row', async () => {
    const row = (id: string, lease_owner: string) => runningRow('lease', id, lease_owner);
    // The store is shared with the tests before: only this test's deployments.
    const orphans = async (now: number) =>
      (await store.deployments.orphanedIds(now)).filter((id) => id.startsWith('l')).sort();
    await store.deployments.insert(row('l1', 'r1'), [], []);
    await store.deployments.insert(row('l2', 'r2'), [], []);
    const before = (await store.deployments.get('l1'))?.row;
    await store.deployments.renewLeases('r1', 25_000);
    await store.deployments.renewLeases('r1', 30_000);
    // Renewing wrote no deployment row.
    expect((await store.deployments.get('l1'))?.row).toEqual(before);
    // At 20,000 both rows' own expiry has passed: r1's replica lease still holds l1, l2 has lapsed.
    expect(await orphans(20_000)).toEqual(['l2']);
    expect(await store.deployments.claim('l1', 'r3', 20_000, 50_000)).toBe(false);
    expect(await store.deploymentPages.claimMany(['l1'], 'r3', 20_000, 50_000)).toEqual([]);
    expect(await store.deploymentPages.claimAndLoad(['l1'], 'r3', 20_000, 50_000)).toEqual([]);
    expect((await store.deployments.get('l1'))?.row.lease_owner).toBe('r1');
    // Its owner may always claim it again; at 30,000 the replica lease still holds.
    expect(await store.deployments.claim('l1', 'r1', 20_000, 21_000)).toBe(true);
    expect(await orphans(30_000)).toEqual(['l2']);
    // Past both expiries it is free to take, once.
    expect(await orphans(30_001)).toEqual(['l1', 'l2']);
    expect(
      (await store.deploymentPages.claimAndLoad(['l1'], 'r3', 30_001, 60_000)).map((c) => c.row.id),
    ).toEqual(['l1']);
    expect(await store.deployments.claim('l1', 'r4', 30_001, 60_000)).toBe(false);
    // Released: the rows are free at once, and the replica lease is gone.
    await store.deployments.renewLeases('r2', 100_000);
    expect(await store.deployments.claim('l2', 'r3', 20_000, 50_000)).toBe(false);
    await store.deployments.releaseLeases('r2');
    expect((await store.deployments.get('l2'))?.row).toMatchObject({
      lease_owner: null,
      lease_expires_at: null,
    });
    expect(await store.deployments.claim('l2', 'r3', 20_000, 50_000)).toBe(true);
    await store.deployments.renewLeases('r3', 70_000);
    await store.deployments.insert(row('l3', 'r2'), [], []);
    expect(await orphans(20_000)).toEqual(['l3']);
    // A dead replica's lease row goes a day after it lapsed; what it held was free already.
    const replicaLeases = async () =>
      (await rawDatabase(store).selectFrom('replica_leases').select('owner').orderBy('owner').execute()).map(
        (r) => r.owner,
      );
    expect(await replicaLeases()).toEqual(['r1', 'r3']);
    await store.deployments.renewLeases('r3', 30_000 + 24 * 60 * 60 * 1000 + 1);
    expect(await replicaLeases()).toEqual(['r3']);
  });

  it('deployments: many leases claimed at once, many read at once, many transitions written at once', async () => {
    const row = (id: string, lease_owner: string | null) => runningRow('batch', id, lease_owner);
    const env = (id: string) => ({
      deployment_id: id,
      name: 'prod',
      status: 'RUNNING',
      phase: 'beforeDeployment',
      state: '{"n":0}',
      message: null,
      started_at: 1_000,
      finished_at: null,
    });
    const event = (id: string, seq: number) => ({
      deployment_id: id,
      seq,
      at: 1_000,
      type: 'x',
      environment: null,
      data: '{}',
    });
    await store.deployments.insert(row('b1', null), [env('b1')], [event('b1', 1)]);
    await store.deployments.insert(row('b2', 'me'), [env('b2')], [event('b2', 1), event('b2', 2)]);
    await store.deployments.insert(row('b3', 'other'), [env('b3')], [event('b3', 1)]);
    // b3's lease is another replica's and not expired at 5,000: not claimed.
    expect(
      (await store.deploymentPages.claimMany(['b1', 'b2', 'b3', 'absent'], 'me', 5_000, 20_000)).sort(),
    ).toEqual(['b1', 'b2']);
    const loaded = await store.deploymentPages.loadMany(['b1', 'b2', 'absent']);
    expect(loaded.map((l) => [l.row.id, l.row.lease_owner, l.environments.length, l.lastSeq]).sort()).toEqual(
      [
        ['b1', 'me', 1, 1],
        ['b2', 'me', 1, 2],
      ],
    );
    const write = (id: string, expectedVersion: number, seq: number) => ({
      id,
      expectedVersion,
      owner: 'me',
      patch: {
        status: 'AWAITING_APPROVAL',
        state: `{"${id}":1}`,
        updated_at: 6_000,
        wake_at: 7_000,
        message: null,
      },
      environments: [{ ...env(id), state: `{"n":${seq}}`, message: `m-${id}` }],
      events: [event(id, seq)],
    });
    // b2's version is not 7; b3 is not leased to 'me': only b1 is written.
    const answers = await store.transaction((tx) =>
      tx.deploymentPages.writeTransitions([write('b1', 1, 2), write('b2', 7, 3), write('b3', 1, 2)]),
    );
    expect(answers).toEqual([true, false, false]);
    const b1 = await store.deployments.get('b1');
    expect(b1?.row).toMatchObject({
      status: 'AWAITING_APPROVAL',
      state: '{"b1":1}',
      version: 2,
      wake_at: 7_000,
    });
    expect(Number(b1?.row.updated_at)).toBe(6_000);
    expect(b1?.environments[0]).toMatchObject({ state: '{"n":2}', message: 'm-b1' });
    expect((await store.deployments.events('b1', 0)).map((e) => e.seq)).toEqual([1, 2]);
    const b2 = await store.deployments.get('b2');
    expect(b2?.row).toMatchObject({ status: 'RUNNING', version: 1 });
    expect(b2?.environments[0]?.state).toBe('{"n":0}');
    expect(await store.deployments.lastSeq('b2')).toBe(2);
    expect(await store.deployments.lastSeq('b3')).toBe(1);
  });

  it('deployments: a page claimed and read at once gives only the claimed, with what driving them needs', async () => {
    const row = (id: string, lease_owner: string | null) => ({
      ...runningRow('page', id, lease_owner),
      spec: `{"spec":"${id}"}`,
      context: '{"k":"v"}',
      state: `{"top":"${id}"}`,
      message: 'm',
      version: 3,
    });
    const env = (id: string, name: string) => ({
      deployment_id: id,
      name,
      status: 'RUNNING',
      phase: 'beforeDeployment',
      state: `{"env":"${name}"}`,
      message: null,
      started_at: 1_000,
      finished_at: null,
    });
    const event = (id: string, seq: number) => ({
      deployment_id: id,
      seq,
      at: 1_000,
      type: 'x',
      environment: null,
      data: '{}',
    });
    await store.deployments.insert(
      row('p1', null),
      [env('p1', 'prod'), env('p1', 'qa')],
      [event('p1', 1), event('p1', 2)],
    );
    // No environment and no event: an empty list and seq 0.
    await store.deployments.insert(row('p2', 'me'), [], []);
    await store.deployments.insert(row('p3', 'other'), [env('p3', 'prod')], [event('p3', 1)]);
    await store.deployments.insert(row('p4', 'other'), [], [event('p4', 1)]);
    // p3's lease is another replica's until 9,000: not ours at 5,000; p4's is, at 9,500.
    const claimed = await store.deploymentPages.claimAndLoad(
      ['p1', 'p2', 'p3', 'absent'],
      'me',
      5_000,
      20_000,
    );
    expect(
      claimed
        .map((c) => ({
          ...c,
          environments: [...c.environments].sort((a, b) => a.name.localeCompare(b.name)),
        }))
        .sort((a, b) => a.row.id.localeCompare(b.row.id)),
    ).toEqual([
      {
        row: {
          id: 'p1',
          application: 'page-p1',
          status: 'RUNNING',
          spec: '{"spec":"p1"}',
          context: '{"k":"v"}',
          state: '{"top":"p1"}',
          created_by: 'test',
          created_at: 1_000,
          version: 3,
        },
        environments: [
          { name: 'prod', state: '{"env":"prod"}' },
          { name: 'qa', state: '{"env":"qa"}' },
        ],
        lastSeq: 2,
      },
      {
        row: expect.objectContaining({ id: 'p2', spec: '{"spec":"p2"}', version: 3 }),
        environments: [],
        lastSeq: 0,
      },
    ]);
    expect((await store.deployments.get('p1'))?.row).toMatchObject({ lease_owner: 'me' });
    expect(Number((await store.deployments.get('p2'))?.row.lease_expires_at)).toBe(20_000);
    expect((await store.deployments.get('p3'))?.row).toMatchObject({ lease_owner: 'other' });
    expect(
      (await store.deploymentPages.claimAndLoad(['p4'], 'me', 9_500, 20_000)).map((c) => c.row.id),
    ).toEqual(['p4']);
    expect(await store.deploymentPages.claimAndLoad([], 'me', 9_500, 20_000)).toEqual([]);
  });

  it('history rows: successes and the audit entries that name approvers and rollbacks', async () => {
    expect(await store.deploymentHistory.rows('nobody')).toEqual({
      deployments: [],
      successes: [],
      audits: [],
    });
    const rows = await store.deploymentHistory.rows('app-c1');
    expect(rows.deployments.map((d) => d.id)).toEqual(['c1']);
    expect(rows.successes).toEqual([]);
  });
});
