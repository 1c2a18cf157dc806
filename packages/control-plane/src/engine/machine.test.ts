import { type DeploymentSpec, parseDeployFile } from '@borealis/deploy-spec';
import { describe, expect, it } from 'vitest';
import { applyDecision } from './decisions.js';
import { initialState, type StepResult, step } from './machine.js';
import type { DeploymentState, DeploymentStatus, Effect, Facts, WebhookFact } from './types.js';

/**
 * The pure machine as a table: a spec, a state reached by earlier steps, and what is known at
 * `now` go in; events, effects, status and the next wake-up come out. No clock, no database:
 * each row names the rule it pins, and fails when that rule changes.
 */

const T0 = 1_700_000_000_000;
const S = 1_000;
const MIN = 60 * S;

function parse(file: string): DeploymentSpec {
  const parsed = parseDeployFile(file);
  if (!parsed.spec) throw new Error(JSON.stringify(parsed.diagnostics));
  return parsed.spec;
}

/** staging replaces at once; prod (after staging) runs a canary with a timed pause and an approval. */
const CANARY = parse(`application: app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]
deploymentConfig:
  timeout: {duration: 10, unit: minutes}
targets:
  staging:
    account: staging-cluster
  prod:
    account: prod-cluster
    strategy: canary
    constraints:
      dependsOn: ["staging"]
strategies:
  canary:
    canary:
      steps:
        - setWeight: {weight: 20}
        - pause: {duration: 60, unit: seconds}
        - pause: {untilApproved: true}
        - setWeight: {weight: 50}
`);

/** One environment whose beforeDeployment asks for an approval that expires after 5 minutes. */
const EXPIRING = parse(`application: app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]
targets:
  prod:
    account: prod-cluster
    constraints:
      beforeDeployment:
        - pause:
            untilApproved: true
            approvalExpiration: {duration: 5, unit: minutes}
`);

/** What is known at one moment: time, and which effects came back (`env:location` keys). */
interface World {
  now: number;
  done?: string[];
  failed?: Record<string, string>;
  runs?: Record<string, WebhookFact>;
}

function factsOf(w: World): Facts {
  const key = (env: string, loc: string) => `${env}:${loc}`;
  return {
    now: w.now,
    webhookRun: (env, loc) => w.runs?.[key(env, loc)],
    driverDone: (env, loc) => (w.done ?? []).includes(key(env, loc)),
    driverFailure: (env, loc) => w.failed?.[key(env, loc)],
    driverProgress: () => undefined,
    judgment: () => undefined,
  };
}

/** The state after stepping through `worlds` in order from the initial state. */
function reach(spec: DeploymentSpec, worlds: World[]): DeploymentState {
  let state = initialState(spec);
  for (const w of worlds) state = step(spec, state, factsOf(w)).state;
  return state;
}

const STAGING_DONE = ['staging:rollout.deploy'];
const PROD_DEPLOYED = [...STAGING_DONE, 'prod:rollout.deploy'];
const PROD_WEIGHT_20 = [...PROD_DEPLOYED, 'prod:strategy.steps[0]'];
/** prod's canary setting weight 20: staging done at T0+1s, prod deployed at T0+2s. */
const PROD_WEIGHTING: World[] = [
  { now: T0 },
  { now: T0 + S, done: STAGING_DONE },
  { now: T0 + 2 * S, done: PROD_DEPLOYED },
];
/** prod in its timed pause: weight 20 done at T0+3s, so the pause ends at T0+63s. */
const PROD_PAUSED: World[] = [...PROD_WEIGHTING, { now: T0 + 3 * S, done: PROD_WEIGHT_20 }];
/** prod waiting for its approval (asked at T0+63s). */
const PROD_AWAITING: World[] = [...PROD_PAUSED, { now: T0 + 63 * S, done: PROD_WEIGHT_20 }];
/** The rollout's deadline: prod entered its strategy at T0+1s, with a 10-minute timeout. */
const PROD_DEADLINE = T0 + S + 10 * MIN;

interface Row {
  rule: string;
  spec: DeploymentSpec;
  state: () => DeploymentState;
  world: World;
  status: DeploymentStatus;
  /** Events expected, in order, as `type environment` (extra events are allowed between). */
  events: string[];
  /** Effects expected, exactly (type, environment, location and the op or reason where it has one). */
  effects: string[];
  wakeAt: number | undefined;
  /** Text an environment's message must contain, by environment. */
  messages?: Record<string, string>;
}

const rows: Row[] = [
  {
    rule: 'dependsOn: only environments with nothing to wait for start',
    spec: CANARY,
    state: () => initialState(CANARY),
    world: { now: T0 },
    status: 'RUNNING',
    events: ['environment.started staging', 'environment.phase staging', 'item.started staging'],
    effects: ['driver staging rollout.deploy deploy/replace'],
    // staging's rollout deadline (no strategy: a replace, 10 minutes too).
    wakeAt: T0 + 10 * MIN,
  },
  {
    rule: 'dependsOn: the dependent starts once what it depends on succeeded, with its rollout deadline',
    spec: CANARY,
    state: () => reach(CANARY, [{ now: T0 }]),
    world: { now: T0 + S, done: STAGING_DONE },
    status: 'RUNNING',
    events: ['environment.finished staging', 'environment.started prod', 'environment.phase prod'],
    effects: ['driver prod rollout.deploy deploy/canary'],
    wakeAt: PROD_DEADLINE,
  },
  {
    rule: 'dependsOn: the dependent is cancelled, never started, when what it depends on did not succeed',
    spec: CANARY,
    state: () =>
      reach(CANARY, [{ now: T0 }, { now: T0 + S, failed: { 'staging:rollout.deploy': 'no image' } }]),
    world: {
      now: T0 + 2 * S,
      failed: { 'staging:rollout.deploy': 'no image' },
      done: ['staging:rollout.rollback'],
    },
    status: 'ROLLED_BACK',
    events: ['environment.finished staging', 'environment.finished prod'],
    effects: [],
    wakeAt: undefined,
    messages: { prod: 'not started: staging, which it depends on, ended ROLLED_BACK' },
  },
  {
    rule: 'canary steps run in order: the deploy done starts weight 20',
    spec: CANARY,
    state: () => reach(CANARY, PROD_WEIGHTING.slice(0, 2)),
    world: PROD_WEIGHTING[2]!,
    status: 'RUNNING',
    events: ['item.succeeded prod', 'item.started prod'],
    effects: ['driver prod strategy.steps[0] setWeight/20'],
    wakeAt: PROD_DEADLINE,
  },
  {
    rule: 'canary steps run in order: weight 20 done starts the timed pause, waking at its end',
    spec: CANARY,
    state: () => reach(CANARY, PROD_WEIGHTING),
    world: { now: T0 + 3 * S, done: PROD_WEIGHT_20 },
    status: 'PAUSED',
    events: ['item.succeeded prod', 'item.started prod', 'environment.status prod'],
    effects: [],
    wakeAt: T0 + 63 * S,
  },
  {
    rule: 'a timed pause holds until its deadline',
    spec: CANARY,
    state: () => reach(CANARY, PROD_PAUSED),
    world: { now: T0 + 63 * S - 1, done: PROD_WEIGHT_20 },
    status: 'PAUSED',
    events: [],
    effects: [],
    wakeAt: T0 + 63 * S,
  },
  {
    rule: 'a timed pause ends at its deadline; the approval after it waits for a person',
    spec: CANARY,
    state: () => reach(CANARY, PROD_PAUSED),
    world: { now: T0 + 63 * S, done: PROD_WEIGHT_20 },
    status: 'AWAITING_APPROVAL',
    events: ['item.succeeded prod', 'item.started prod', 'environment.status prod'],
    effects: [],
    wakeAt: PROD_DEADLINE,
  },
  {
    rule: 'the rollout deadline does not roll back while a person is asked',
    spec: CANARY,
    state: () => reach(CANARY, PROD_AWAITING),
    world: { now: PROD_DEADLINE + MIN, done: PROD_WEIGHT_20 },
    status: 'AWAITING_APPROVAL',
    events: [],
    effects: [],
    wakeAt: PROD_DEADLINE,
  },
  {
    rule: 'time waiting on people is added back: approved after the deadline, the rollout goes on',
    spec: CANARY,
    state: () => {
      const state = reach(CANARY, PROD_AWAITING);
      const decided = applyDecision(CANARY, state, {
        action: 'approve',
        environment: 'prod',
        who: 'alice',
        roles: ['admin'],
        now: PROD_DEADLINE + MIN,
      });
      if (!decided.ok) throw new Error('the approval was refused');
      return state;
    },
    world: { now: PROD_DEADLINE + MIN, done: PROD_WEIGHT_20 },
    status: 'RUNNING',
    events: ['item.started prod'],
    effects: ['driver prod strategy.steps[3] setWeight/50'],
    // Waited from T0+63s to the deadline + 1 minute: the deadline moves that much later.
    wakeAt: PROD_DEADLINE + (PROD_DEADLINE + MIN - (T0 + 63 * S)),
  },
  {
    rule: 'the rollout deadline rolls back a rollout still under way',
    spec: CANARY,
    state: () => reach(CANARY, PROD_WEIGHTING.slice(0, 2)),
    world: { now: PROD_DEADLINE, done: STAGING_DONE },
    status: 'RUNNING',
    events: ['environment.rollingBack prod', 'item.started prod'],
    effects: ['cancelDriver prod rollout.deploy', 'driver prod rollout.rollback rollback'],
    wakeAt: undefined,
    messages: { prod: 'the rollout took longer than deploymentConfig.timeout (10 minutes); rolled back' },
  },
  {
    rule: 'rollback: a failed canary step rolls back automatically',
    spec: CANARY,
    state: () => reach(CANARY, PROD_WEIGHTING),
    world: { now: T0 + 3 * S, done: PROD_DEPLOYED, failed: { 'prod:strategy.steps[0]': 'no such service' } },
    status: 'RUNNING',
    events: ['item.failed prod', 'environment.rollingBack prod', 'item.started prod'],
    effects: ['driver prod rollout.rollback rollback'],
    wakeAt: undefined,
    messages: { prod: 'rolling back: rollout failed at strategy.steps[0]: no such service' },
  },
  {
    rule: 'rollback: once the rollback action is done the environment and the deployment end ROLLED_BACK',
    spec: CANARY,
    state: () =>
      reach(CANARY, [
        ...PROD_WEIGHTING,
        { now: T0 + 3 * S, done: PROD_DEPLOYED, failed: { 'prod:strategy.steps[0]': 'no such service' } },
      ]),
    world: { now: T0 + 4 * S, done: [...PROD_DEPLOYED, 'prod:rollout.rollback'] },
    status: 'ROLLED_BACK',
    events: ['item.succeeded prod', 'environment.finished prod'],
    effects: [],
    wakeAt: undefined,
  },
  {
    rule: 'an approval waits until it expires, waking then',
    spec: EXPIRING,
    state: () => initialState(EXPIRING),
    world: { now: T0 },
    status: 'AWAITING_APPROVAL',
    events: ['environment.started prod', 'item.started prod', 'environment.status prod'],
    effects: [],
    wakeAt: T0 + 5 * MIN,
  },
  {
    rule: 'approval expiry fails the constraint: the environment is not deployed',
    spec: EXPIRING,
    state: () => reach(EXPIRING, [{ now: T0 }]),
    world: { now: T0 + 5 * MIN },
    status: 'FAILED',
    events: ['item.failed prod', 'environment.finished prod'],
    effects: [],
    wakeAt: undefined,
    messages: {
      prod: `beforeDeployment failed at constraints.beforeDeployment[0]: the approval expired at ${new Date(T0 + 5 * MIN).toISOString()} (approvalExpiration: 5 minutes)`,
    },
  },
];

function describeEffect(e: Effect): string {
  const base = `${e.type} ${e.environment} ${e.location}`;
  if (e.type !== 'driver') return base;
  const op = e.op;
  const detail =
    op.op === 'deploy' ? `deploy/${op.mode}` : op.op === 'setWeight' ? `setWeight/${op.weight}` : op.op;
  return `${base} ${detail}`;
}

/** True when `expected` appears in `actual` in order (other items may sit between). */
function inOrder(actual: string[], expected: string[]): boolean {
  let i = 0;
  for (const a of actual) if (a === expected[i]) i++;
  return i === expected.length;
}

describe('machine.step, as a table', () => {
  it.each(rows)('$rule', (row) => {
    const before = row.state();
    const frozen = structuredClone(before);
    const result: StepResult = step(row.spec, before, factsOf(row.world));
    // Pure: the state given is not touched.
    expect(before).toEqual(frozen);
    const events = result.events.map((e) => `${e.type} ${e.environment ?? ''}`.trim());
    if (row.events.length === 0) expect(events).toEqual([]);
    else expect(inOrder(events, row.events), `events were:\n${events.join('\n')}`).toBe(true);
    expect(result.effects.map(describeEffect)).toEqual(row.effects);
    expect(result.changed).toBe(row.events.length > 0);
    expect(result.status).toBe(row.status);
    expect(result.wakeAt).toBe(row.wakeAt);
    for (const [env, text] of Object.entries(row.messages ?? {}))
      expect(result.state.environments[env]?.message).toContain(text);
  });
});
