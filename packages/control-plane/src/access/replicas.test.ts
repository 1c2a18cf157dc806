import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeTestControlPlanes, fetchJson, startTestReplicas } from '../../../../test/kit/control-plane.js';
import { deployFileHead } from '../../../../test/kit/deploy-file.js';
import { until } from '../../../../test/kit/until.js';
import type { ControlPlane } from '../server.js';
import { rawDatabase } from '../store/raw-database.test-util.js';

/**
 * Two replicas on one database and one bus: a decision sent to the replica that does not drive
 * the deployment is forwarded to the one that does, and the roles travel with it, so the pause's
 * requiresRoles is judged the same whichever replica a person reaches. Tokens live in the shared
 * database: one revoked on one replica is refused by the other at its next request.
 */
const ADMIN = 'replicas-admin-token-0123456789';
let a: ControlPlane;
let b: ControlPlane;

const call = (cp: ControlPlane, token: string, method: string, path: string, body?: unknown) =>
  fetchJson(cp.url, token, method, path, body);

beforeAll(async () => {
  [a, b] = (await startTestReplicas(['replica-a', 'replica-b'], { apiToken: ADMIN })).map((r) => r.cp) as [
    ControlPlane,
    ControlPlane,
  ];
}, 30_000);

afterAll(closeTestControlPlanes);

describe('roles across replicas', () => {
  it('a decision reaching the other replica is judged with its roles by the driving one', async () => {
    const token = async (name: string, roles: string[]) =>
      (await call(a, ADMIN, 'POST', '/api/v1/tokens', { name, roles })).json.token as string;
    const deployer = await token('dora', ['deployer']);
    const approver = await token('pete', ['prod-approvers']);
    const started = await call(a, deployer, 'POST', '/api/v1/deployments', {
      deployFile: `${deployFileHead('replicas-roles', { configMap: 'c' })}        - pause:
            untilApproved: true
            requiresRoles: [prod-approvers]
`,
    });
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    const id = started.json.deploymentId as string;
    await until(
      async () =>
        (await call(b, deployer, 'GET', `/api/v1/deployments/${id}`)).json.status === 'AWAITING_APPROVAL',
      'the pause to wait',
      15_000,
    );
    // Replica A drives it; B forwards, A refuses with the roles it needs, B answers that.
    const driver = await rawDatabase(a.store)
      .selectFrom('deployments')
      .select('lease_owner')
      .where('id', '=', id)
      .executeTakeFirst();
    expect(driver?.lease_owner).toBe('replica-a');
    const refused = await call(b, deployer, 'POST', `/api/v1/deployments/${id}/approve`, {
      environment: 'prod',
    });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('BRL_ERR_FORBIDDEN');
    expect(refused.json.error.requiredRoles).toEqual(['prod-approvers', 'admin']);
    const approved = await call(b, approver, 'POST', `/api/v1/deployments/${id}/approve`, {
      environment: 'prod',
      reason: 'forwarded',
    });
    expect(approved.status, JSON.stringify(approved.json)).toBe(200);
    await until(
      async () => (await call(b, approver, 'GET', `/api/v1/deployments/${id}`)).json.status === 'SUCCEEDED',
      'the deployment to succeed',
      15_000,
    );
    const audit = await call(b, approver, 'GET', `/api/v1/audit?deploymentId=${id}&actor=pete`);
    expect(audit.json.entries).toHaveLength(1);
    expect(audit.json.entries[0]).toMatchObject({
      action: 'approve',
      reason: 'forwarded',
      source: '127.0.0.1',
    });
  });

  it('a token revoked on one replica is refused by the other at once', async () => {
    const created = (
      await call(a, ADMIN, 'POST', '/api/v1/tokens', { name: 'short-lived', roles: ['viewer'] })
    ).json;
    expect((await call(b, created.token, 'GET', '/api/v1/deployments')).status).toBe(200);
    expect((await call(a, ADMIN, 'DELETE', `/api/v1/tokens/${created.id}`)).status).toBe(204);
    expect((await call(b, created.token, 'GET', '/api/v1/deployments')).status).toBe(401);
  });
});
