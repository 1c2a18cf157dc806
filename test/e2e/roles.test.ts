import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployFileHead } from '../kit/deploy-file.js';
import { type ServerProc, startServer, TEST_TOKEN } from './support/control-plane.js';
import { type Run, runCli, stopAll, until } from './support/processes.js';

/**
 * Issue 10's "done when", through the real programs with real tokens: people get tokens with
 * roles from the CLI; a viewer cannot start; a deployer cannot approve a pause that requires
 * prod-approvers; a prod-approvers token can; the audit shows who, when and why.
 */
let server: ServerProc;
let work: string;
const tokens: Record<string, { id: string; token: string }> = {};

/** The built CLI, with only a URL and a token (no config file, no data dir to find). */
function cli(token: string, args: string[]): Promise<Run> {
  return runCli(args, { url: server.url, token, home: work, cwd: work });
}

const DEPLOY_FILE = `${deployFileHead('roles-e2e', { configMap: 'roles-e2e' })}        - pause:
            untilApproved: true
            requiresRoles: [prod-approvers]
`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'brl-roles-'));
  writeFileSync(join(work, 'deploy.yml'), DEPLOY_FILE);
  server = await startServer();
  // An admin (BOREALIS_API_TOKEN) gives each person a token with the CLI.
  for (const [name, roles] of [
    ['vera', ['viewer']],
    ['dan', ['deployer']],
    ['paula', ['viewer', 'prod-approvers']],
  ] as const) {
    const created = await cli(TEST_TOKEN, [
      'tokens',
      'create',
      name,
      ...roles.flatMap((r) => ['--role', r]),
      '-o',
      'json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const json = JSON.parse(created.stdout) as { id: string; name: string; roles: string[]; token: string };
    expect(json).toMatchObject({ name, roles: [...roles] });
    tokens[name] = { id: json.id, token: json.token };
  }
}, 60_000);

afterAll(async () => {
  await stopAll();
  server?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('people and roles, end to end', () => {
  it('tokens list shows names and roles, never a token', async () => {
    const list = await cli(TEST_TOKEN, ['tokens', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/vera\s+viewer/);
    expect(list.stdout).toMatch(/dan\s+deployer/);
    expect(list.stdout).toMatch(/paula\s+viewer,prod-approvers/);
    for (const t of Object.values(tokens)) expect(list.stdout).not.toContain(t.token);
    // Not an admin: no token management.
    const denied = await cli(tokens.dan!.token, ['tokens', 'list']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('BRL_ERR_FORBIDDEN');
    expect(denied.stderr).toContain('admin');
  });

  it('viewer cannot start; deployer cannot approve a prod-approvers pause; prod-approvers can; the audit shows who', async () => {
    const viewerStart = await cli(tokens.vera!.token, ['deploy', 'start', '-f', 'deploy.yml']);
    expect(viewerStart.code).not.toBe(0);
    expect(viewerStart.stderr).toContain('403');
    expect(viewerStart.stderr).toContain('BRL_ERR_FORBIDDEN');
    expect(viewerStart.stderr).toContain('deployer');
    expect((await server.api('GET', '/api/v1/deployments')).json.deployments).toEqual([]);

    const started = await cli(tokens.dan!.token, ['deploy', 'start', '-f', 'deploy.yml', '-o', 'json']);
    expect(started.code, started.stderr).toBe(0);
    const id = (JSON.parse(started.stdout) as { deploymentId: string }).deploymentId;
    await until(
      async () => (await server.api('GET', `/api/v1/deployments/${id}`)).json.status === 'AWAITING_APPROVAL',
      'the pause to wait',
    );

    const waiting = await cli(tokens.dan!.token, ['deploy', 'status', id]);
    expect(waiting.stdout).toMatch(
      /waiting for you: .*deploy approve .*\(needs the role prod-approvers or admin\)/,
    );
    for (const action of ['approve', 'reject']) {
      const refused = await cli(tokens.dan!.token, ['deploy', action, id, '--env', 'prod', '--reason', 'me']);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('BRL_ERR_FORBIDDEN');
      expect(refused.stderr).toContain('prod-approvers');
      expect(refused.stderr).toContain('dan');
    }
    const viewerApprove = await cli(tokens.vera!.token, ['deploy', 'approve', id, '--env', 'prod']);
    expect(viewerApprove.stderr).toContain('prod-approvers');
    expect((await server.api('GET', `/api/v1/deployments/${id}`)).json.status).toBe('AWAITING_APPROVAL');

    const approved = await cli(tokens.paula!.token, [
      'deploy',
      'approve',
      id,
      '--env',
      'prod',
      '--reason',
      'CHG-42 signed off',
    ]);
    expect(approved.code, approved.stderr).toBe(0);
    await until(
      async () => (await server.api('GET', `/api/v1/deployments/${id}`)).json.status === 'SUCCEEDED',
      'the deployment to succeed',
    );

    // The audit: who started it, who approved it and why, from where; refusals changed nothing.
    const audit = await server.api('GET', `/api/v1/audit?deploymentId=${id}`);
    expect(audit.status).toBe(200);
    const entries = (audit.json.entries as Array<Record<string, unknown>>).reverse();
    expect(entries.map((e) => [e.action, e.actor, e.environment])).toEqual([
      ['start', 'dan', null],
      ['approve', 'paula', 'prod'],
    ]);
    expect(entries[1]).toMatchObject({
      reason: 'CHG-42 signed off',
      source: '127.0.0.1',
      tokenId: tokens.paula!.id,
      deploymentId: id,
    });
    const byActor = await server.api('GET', '/api/v1/audit?actor=paula');
    expect(byActor.json.entries.map((e: { action: string }) => e.action)).toEqual(['approve']);
    const auditCli = await cli(tokens.vera!.token, ['audit', '--deployment', id]);
    expect(auditCli.code, auditCli.stderr).toBe(0);
    expect(auditCli.stdout).toMatch(/paula\s+approve\s+\S+\s+prod\s+127\.0\.0\.1\s+CHG-42 signed off/);
    expect(auditCli.stdout).toMatch(/dan\s+start\s/);
    const badSince = await cli(tokens.vera!.token, ['audit', '--since', 'yesterday']);
    expect(badSince.code).not.toBe(0);
    expect(badSince.stderr).toContain('since');

    // watch replays the story: who it waited for, who decided and why.
    const watch = await cli(tokens.vera!.token, ['deploy', 'watch', id]);
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stdout).toContain('waiting for approval by prod-approvers or admin');
    expect(watch.stdout).toContain('approve by paula: CHG-42 signed off');

    // deploy status shows who decided and why, to anyone who may read.
    const status = await cli(tokens.vera!.token, ['deploy', 'status', id]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('started by dan');
    expect(status.stdout).toContain('approved by paula: CHG-42 signed off');
    const decisions = status.stdout.slice(status.stdout.indexOf('Decisions:'));
    expect(decisions).toMatch(/dan\s+start\s+-\s+127\.0\.0\.1/);
    expect(decisions).toMatch(/paula\s+approve\s+prod\s+127\.0\.0\.1\s+CHG-42 signed off/);
  });

  it('a revoked token is refused at its next request; the audit names who revoked it', async () => {
    const before = await cli(tokens.vera!.token, ['agents', 'list']);
    expect(before.code, before.stderr).toBe(0);
    const revoked = await cli(TEST_TOKEN, ['tokens', 'revoke', tokens.vera!.id.slice(0, 8)]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('vera');
    const after = await cli(tokens.vera!.token, ['agents', 'list']);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain('401');
    expect(after.stderr).toContain('revoked');
    const audit = await server.api('GET', '/api/v1/audit?actor=env');
    const revoke = audit.json.entries.find((e: { action: string }) => e.action === 'token.revoke');
    expect(revoke.details).toMatchObject({ tokenId: tokens.vera!.id, name: 'vera' });
    expect(JSON.stringify(audit.json)).not.toContain(tokens.vera!.token);
  });

  it('the audit query is validated', async () => {
    for (const [query, needle] of [
      ['since=yesterday', 'since'],
      ['limit=0', 'limit'],
      ['actr=dan', 'Unknown query parameter'],
    ]) {
      const res = await server.api('GET', `/api/v1/audit?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.error.message, query).toContain(needle);
    }
    const recent = await server.api('GET', '/api/v1/audit?since=1h');
    expect(recent.status).toBe(200);
    expect(recent.json.entries.length).toBeGreaterThan(3);
    const future = await server.api(
      'GET',
      `/api/v1/audit?since=${new Date(Date.now() + 3_600_000).toISOString()}`,
    );
    expect(future.json.entries).toEqual([]);
  });
});
