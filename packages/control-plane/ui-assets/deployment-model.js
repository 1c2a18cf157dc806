// What a person reads off a deployment's status JSON: where each environment stands, what it waits
// for, which step it is on. Pure functions of the JSON (and the clock), shared by the graph and the
// detail, so both say the same thing.

export const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK']);
const UNSUCCESSFUL = new Set(['FAILED', 'CANCELLED', 'ROLLED_BACK']);
const STEP_DONE = new Set(['succeeded', 'skipped']);
const STEP_ACTIVE = new Set(['running', 'waiting']);
const STEP_ENDED_BADLY = new Set(['failed', 'cancelled']);

/**
 * An environment's status as shown: one that never started because the deployment ended (a
 * dependency failed, a person cancelled) is SKIPPED, not PENDING.
 */
export function environmentStatus(d, env) {
  if (env.status === 'PENDING' && FINAL.has(d.status)) return 'SKIPPED';
  return env.status;
}

/**
 * A step's status as shown: once its environment ended without success (or never ran), steps
 * that never started are skipped, not pending — nothing will run them.
 */
export function stepStatus(d, env, step) {
  if (step.status !== 'pending') return step.status;
  const envStatus = environmentStatus(d, env);
  return UNSUCCESSFUL.has(envStatus) || envStatus === 'SKIPPED' ? 'skipped' : 'pending';
}

/** Where the environment is: { index (1-based) or 0, total, step (the step's description) }. */
export function progress(env) {
  const steps = env.steps ?? [];
  const total = steps.length;
  let i = steps.findIndex((s) => STEP_ACTIVE.has(s.status));
  if (i < 0) i = steps.findIndex((s) => STEP_ENDED_BADLY.has(s.status));
  if (i >= 0) return { index: i + 1, total, step: steps[i].step, status: steps[i].status };
  const done = steps.filter((s) => STEP_DONE.has(s.status)).length;
  return { index: done, total, step: done === total && total > 0 ? 'all steps done' : undefined };
}

/** The step a person is asked to decide on, if any. */
export function awaitedStep(env) {
  return (env.steps ?? []).find((s) => s.status === 'waiting' && s.awaiting);
}

/** Which decisions apply now: 'approval' and/or 'roll'. */
export function wantedDecisions(env) {
  const wants = new Set();
  for (const s of env.steps ?? []) {
    if (s.status !== 'waiting' || !s.awaiting) continue;
    if (/approve/.test(s.awaiting.decision)) wants.add('approval');
    if (/roll/.test(s.awaiting.decision)) wants.add('roll');
  }
  return wants;
}

/** Who may approve a pause: its requiresRoles (any one), else the deployer role; admin always. */
export function approvers(step) {
  const roles = step.requiresRoles ?? [];
  return roles.length ? roles.join(' or ') : 'deployer';
}

/**
 * What the environment waits for, in a few words (or undefined when it waits for nothing):
 * a person's decision, a webhook's callback, an analysis run, a timed pause, its dependencies.
 */
export function waitsFor(d, env) {
  const status = environmentStatus(d, env);
  if (FINAL.has(status) || status === 'SKIPPED') return undefined;
  if (status === 'PENDING' || status === 'QUEUED') {
    const byName = new Map((d.environments ?? []).map((e) => [e.name, e]));
    const open = (env.dependsOn ?? []).filter((n) => byName.get(n)?.status !== 'SUCCEEDED');
    return open.length ? { kind: 'dependsOn', text: open.join(', ') } : undefined;
  }
  for (const s of env.steps ?? []) {
    if (!STEP_ACTIVE.has(s.status)) continue;
    if (s.awaiting && /approve/.test(s.awaiting.decision)) {
      return { kind: 'approval', text: `approval by ${approvers(s)}` };
    }
    if (s.awaiting) return { kind: 'decision', text: `a person to ${s.awaiting.decision}` };
    if (s.analysis) {
      const a = s.analysis;
      const next = Math.min(a.runs.length + 1, a.numberOfJudgmentRuns);
      return { kind: 'analysis', text: `analysis run ${next} of ${a.numberOfJudgmentRuns}` };
    }
    if (/^runWebhook /.test(s.step)) {
      const run = (env.webhookRuns ?? []).filter((r) => r.location === s.location).at(-1);
      const name = s.step.replace(/^runWebhook /, '');
      if (run?.waiting) return { kind: 'webhook', text: `agent ${run.waiting.agentIdentifier} to connect` };
      return { kind: 'webhook', text: `webhook ${name}${s.via ? ` (${s.via})` : ''}` };
    }
    if (/^pause /.test(s.step)) return { kind: 'pause', text: s.step };
    return { kind: 'step', text: s.step };
  }
  return undefined;
}

/** The new version's share of traffic (0..100) in this environment, when the driver reports it. */
export function newVersionWeight(d, env) {
  const versions = env.target?.versions ?? [];
  const mine = versions.find((v) => v.deploymentId === d.id);
  if (mine) return mine.weight;
  return versions.length ? 0 : undefined;
}

/** "1 h 02 min", "3 min 05 s", "12 s". */
export function duration(ms) {
  const sec = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  const two = (n) => String(n).padStart(2, '0');
  if (h) return `${h} h ${two(m)} min`;
  if (m) return `${m} min ${two(s)} s`;
  return `${s} s`;
}

/** How long the environment has run (until now, or until it finished); undefined before it starts. */
export function elapsed(env, now = Date.now()) {
  if (!env.startedAt) return undefined;
  const end = env.finishedAt ? Date.parse(env.finishedAt) : now;
  return duration(end - Date.parse(env.startedAt));
}

/** Tone of a status, for colours (always next to the status as text, never colour alone). */
export function tone(status) {
  const u = String(status ?? '').toUpperCase();
  if (['SUCCEEDED', 'CONNECTED', 'PASSED'].includes(u)) return 'ok';
  if (['FAILED', 'ROLLED_BACK', 'CANCELLED'].includes(u)) return 'bad';
  if (['AWAITING_APPROVAL', 'PAUSED', 'WAITING', 'DRAINING', 'AWAITING_CALLBACK'].includes(u)) return 'warn';
  if (['RUNNING', 'QUEUED'].includes(u)) return 'info';
  return 'neutral';
}
