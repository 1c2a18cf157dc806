import { parseDeployFile } from '@borealis/deploy-spec';
import { describe, expect, it } from 'vitest';
import { canaryAnalysisHead } from '../../../../test/kit/deploy-file.js';
import { initialState, step } from './machine.js';
import type { JudgmentOutcome } from './metric-provider.js';
import type { DeploymentState, Effect, Facts } from './types.js';

/** The file's `analysis` section: one query `q` on provider `prom`, at most 1. */
const ANALYSIS_Q = `analysis:
  defaultMetricProviderName: prom
  queries:
    - name: q
      queryTemplate: sum(x)
      upperLimit: 1
`;

/** The judgment rules, on the pure deciding function: time and verdicts are given, effects read. */
const spec = (analysis: string) => {
  const parsed = parseDeployFile(`${canaryAnalysisHead()}            numberOfJudgmentRuns: 3
            queries: [q]
${analysis}
${ANALYSIS_Q}manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]
`);
  if (!parsed.spec) throw new Error(JSON.stringify(parsed.diagnostics));
  return parsed.spec;
};

const T0 = 1_700_000_000_000;
const LOC = 'strategy.steps[1]';
const pass: JudgmentOutcome = { passed: true, message: 'q = 0.5, within [-∞, 1]', queries: [] };
const fail: JudgmentOutcome = { passed: false, message: 'q = 7, above upperLimit 1', queries: [] };

/** Steps the machine like the engine: effects become facts (driver done; judgments as `verdicts` say). */
function driver(analysis: string, verdicts: JudgmentOutcome[]) {
  const s = spec(analysis);
  let state: DeploymentState = initialState(s);
  const asked: Array<Extract<Effect, { type: 'judge' }>> = [];
  const known = new Map<number, JudgmentOutcome>();
  const run = (now: number, fresh = false) => {
    if (fresh) known.clear();
    const facts: Facts = {
      now,
      webhookRun: () => undefined,
      driverDone: () => true,
      driverFailure: () => undefined,
      driverProgress: () => undefined,
      judgment: (_e, _l, i) => known.get(i),
    };
    for (let i = 0; i < 10; i++) {
      const r = step(s, state, facts);
      state = r.state;
      const judges = r.effects.filter((e): e is Extract<Effect, { type: 'judge' }> => e.type === 'judge');
      if (judges.length === 0) return r;
      for (const j of judges) {
        asked.push(j);
        const v = verdicts[j.index];
        if (v) known.set(j.index, v);
      }
    }
    throw new Error('did not settle');
  };
  return { run, asked, item: () => state.environments.prod?.items[LOC], state: () => state };
}

describe('analysis judgment', () => {
  it('growing: runs every interval over a window that starts at the step; nothing before it is due', () => {
    const d = driver('', [pass, pass, pass]);
    d.run(T0);
    expect(d.asked).toEqual([]);
    expect(d.item()?.nextJudgmentAt).toBe(T0 + 10_000);
    d.run(T0 + 9_999);
    expect(d.asked).toEqual([]);
    d.run(T0 + 10_000);
    d.run(T0 + 20_500);
    expect(d.asked.map((a) => [a.index, a.window])).toEqual([
      [0, { start: T0, end: T0 + 10_000 }],
      [1, { start: T0, end: T0 + 20_000 }],
    ]);
    const r = d.run(T0 + 30_000);
    expect(d.item()).toMatchObject({ status: 'succeeded', message: 'analysis passed 3 of 3 judgment(s)' });
    expect(d.item()?.judgments?.map((j) => [j.index, j.scheduledAt, j.passed])).toEqual([
      [0, T0 + 10_000, true],
      [1, T0 + 20_000, true],
      [2, T0 + 30_000, true],
    ]);
    expect(r.status).toBe('SUCCEEDED');
  });

  it('sliding: each window is the last interval', () => {
    const d = driver('            lookbackMethod: sliding', [pass, pass, pass]);
    d.run(T0);
    d.run(T0 + 10_000);
    d.run(T0 + 20_000);
    expect(d.asked.map((a) => a.window)).toEqual([
      { start: T0, end: T0 + 10_000 },
      { start: T0 + 10_000, end: T0 + 20_000 },
    ]);
  });

  it('a restart between runs resumes at the next unrecorded run, over the same window, none repeated', () => {
    const d = driver('', [pass, pass, pass]);
    d.run(T0);
    d.run(T0 + 10_000);
    const stored = JSON.parse(JSON.stringify(d.state())) as DeploymentState;
    expect(stored.environments.prod?.items[LOC]?.judgments).toHaveLength(1);
    // The process is gone for 25 s: what it learnt is lost; the stored schedule is not.
    const again = driver('', [pass, pass, pass]);
    // A fresh process: the stored state, nothing learnt.
    Object.assign(again.state(), stored);
    again.run(T0 + 35_000, true);
    expect(again.asked.map((a) => [a.index, a.window.end])).toEqual([
      [1, T0 + 20_000],
      [2, T0 + 30_000],
    ]);
    expect(again.item()?.judgments?.map((j) => j.index)).toEqual([0, 1, 2]);
  });

  it('without abortOnFailedJudgment every run is made, then the analysis fails; with it, the first failure stops it', () => {
    const all = driver('', [pass, fail, pass]);
    all.run(T0);
    all.run(T0 + 10_000);
    all.run(T0 + 20_000);
    expect(all.item()?.status).toBe('running');
    all.run(T0 + 30_000);
    expect(all.item()?.judgments).toHaveLength(3);
    expect(all.state().environments.prod?.status).toBe('ROLLED_BACK');
    expect(all.state().environments.prod?.message).toContain(
      'analysis failed judgment 2 of 3: q = 7, above upperLimit 1',
    );

    const abort = driver('            abortOnFailedJudgment: true', [fail, pass, pass]);
    abort.run(T0);
    abort.run(T0 + 10_000);
    expect(abort.item()?.judgments).toHaveLength(1);
    expect(abort.state().environments.prod?.phase).toBe('done');
    expect(abort.state().environments.prod?.status).toBe('ROLLED_BACK');
  });

  it('rollBackMode manual in a canary waits for a person; rollForwardMode manual waits after a pass', () => {
    const manual = driver('            rollBackMode: manual\n            abortOnFailedJudgment: true', [
      fail,
    ]);
    manual.run(T0);
    const r = manual.run(T0 + 10_000);
    expect(manual.item()).toMatchObject({ status: 'waiting', awaiting: 'rollbackOrRollForward' });
    expect(manual.item()?.message).toContain('rollBackMode is manual: waiting for a person');
    expect(r.status).toBe('AWAITING_APPROVAL');
    // Nothing more is asked while a person decides.
    manual.run(T0 + 60_000);
    expect(manual.asked).toHaveLength(1);

    const fwd = driver('            rollForwardMode: manual', [pass, pass, pass]);
    fwd.run(T0);
    fwd.run(T0 + 10_000);
    fwd.run(T0 + 20_000);
    fwd.run(T0 + 30_000);
    expect(fwd.item()).toMatchObject({ status: 'waiting', awaiting: 'rollForward' });
  });

  it('a judgment that could not measure (provider down) is a failed run with its message, never a pass', () => {
    const down: JudgmentOutcome = {
      passed: false,
      message:
        'q via prom: could not reach http://10.0.0.1:9090/api/v1/query?... through agent "rna": connect ECONNREFUSED',
      queries: [
        { query: 'q', provider: 'prom', upperLimit: 1, passed: false, message: 'connect ECONNREFUSED' },
      ],
    };
    const d = driver('            abortOnFailedJudgment: true', [down]);
    d.run(T0);
    d.run(T0 + 10_000);
    expect(d.state().environments.prod?.status).toBe('ROLLED_BACK');
    expect(d.state().environments.prod?.message).toContain('ECONNREFUSED');
  });

  it('afterDeployment: a failed analysis fails the environment and never rolls it back', () => {
    const parsed = parseDeployFile(`application: app
manifests: [{inline: "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}"}]
targets:
  prod:
    constraints:
      afterDeployment:
        - analysis:
            interval: 5
            units: seconds
            numberOfJudgmentRuns: 1
            rollBackMode: manual
            queries: [q]
${ANALYSIS_Q}`);
    const s = parsed.spec;
    if (!s) throw new Error(JSON.stringify(parsed.diagnostics));
    let state = initialState(s);
    const asked: number[] = [];
    const settle = (now: number) => {
      for (let i = 0; i < 10; i++) {
        const r = step(s, state, {
          now,
          webhookRun: () => undefined,
          driverDone: () => true,
          driverFailure: () => undefined,
          driverProgress: () => undefined,
          judgment: (_e, _l, index) => (asked.includes(index) ? fail : undefined),
        });
        state = r.state;
        const judges = r.effects.filter((e) => e.type === 'judge');
        if (judges.length === 0) return r;
        for (const j of judges) if (j.type === 'judge') asked.push(j.index);
      }
      throw new Error('did not settle');
    };
    settle(T0);
    const r = settle(T0 + 5_000);
    expect(asked).toEqual([0]);
    expect(r.status).toBe('FAILED');
    expect(state.environments.prod?.message).toContain('afterDeployment failed');
    expect(state.environments.prod?.message).toContain('q = 7, above upperLimit 1');
    expect(state.environments.prod?.message).toContain('NOT rolled back');
  });
});
