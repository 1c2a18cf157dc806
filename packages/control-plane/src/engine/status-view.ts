import type {
  AnalysisStep,
  AnalysisView,
  DeploymentListEntry,
  DeploymentSpec,
  DeploymentSummary,
  DeploymentView,
  EnvironmentView,
  StepView,
  WebhookRunView,
} from '@borealis/deploy-spec';
import type { AuditEntryView } from '../audit/index.js';
import type { DeploymentEnvironmentRow, DeploymentRow } from '../store/index.js';
import type { WebhookRun } from '../webhooks/types.js';
import { revisionOf } from './history.js';
import { allPlannedItems, describeStep, webhookRoute } from './plan.js';
import type { TargetDriver } from './target-driver.js';
import type { EnvironmentState, ItemState } from './types.js';

export function listEntryOf(
  row: DeploymentRow,
  statuses: ReadonlyArray<{ name: string; status: string }>,
): DeploymentListEntry {
  let order: string[] = [];
  try {
    order = Object.values((JSON.parse(row.spec) as DeploymentSpec).targets).map((t) => t.name);
  } catch {
    // An unreadable spec still lists; its environments come in stored order.
  }
  const byName = new Map(statuses.map((e) => [e.name, e.status]));
  const names = [
    ...order.filter((n) => byName.has(n)),
    ...[...byName.keys()].filter((n) => !order.includes(n)),
  ];
  return { ...summaryOf(row), environments: names.map((name) => ({ name, status: byName.get(name)! })) };
}

const iso = (t: number | null | undefined) =>
  t === null || t === undefined ? null : new Date(t).toISOString();

function versionLabel(row: DeploymentRow): string {
  try {
    return revisionOf(
      JSON.parse(row.spec) as DeploymentSpec,
      JSON.parse(row.context) as Record<string, string>,
      row.id,
    ).version;
  } catch {
    return `v-${row.id.slice(0, 8)}`;
  }
}

export function summaryOf(row: DeploymentRow): DeploymentSummary {
  return {
    id: row.id,
    application: row.application,
    version: versionLabel(row),
    status: row.status,
    message: row.message,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    finishedAt: iso(row.finished_at),
  };
}

export async function buildView(
  row: DeploymentRow,
  envRows: DeploymentEnvironmentRow[],
  runs: WebhookRun[],
  driver: TargetDriver,
  audit: AuditEntryView[] = [],
): Promise<DeploymentView> {
  const spec = JSON.parse(row.spec) as DeploymentSpec;
  const byName = new Map(envRows.map((e) => [e.name, JSON.parse(e.state) as EnvironmentState]));
  const environments: EnvironmentView[] = [];
  for (const target of Object.values(spec.targets)) {
    const env = byName.get(target.name);
    if (!env) continue;
    const steps = allPlannedItems(spec, target).map((planned): StepView => {
      const item = env.items[planned.location];
      const v: StepView = {
        location: planned.location,
        step: describeStep(planned.step),
        status: item?.status ?? 'pending',
      };
      if (planned.step.type === 'runWebhook') {
        const name = planned.step.name;
        v.via = webhookRoute(
          spec.webhooks.find((w) => w.name === name),
          target,
        );
      }
      if (planned.step.type === 'pause' && planned.step.untilApproved)
        v.requiresRoles = [...planned.step.requiresRoles];
      if (planned.step.type === 'analysis') v.analysis = analysisView(planned.step, item);
      if (!item) return v;
      if (item.message) v.message = item.message;
      const waiting = runs.find(
        (r) => r.environment === target.name && r.location === planned.location && r.waitingForAgent,
      )?.waitingForAgent;
      if (waiting && item.status === 'running') v.message = waitingMessage(waiting);
      v.startedAt = iso(item.startedAt)!;
      if (item.finishedAt) v.finishedAt = iso(item.finishedAt)!;
      if (item.deadlineAt && (item.status === 'waiting' || item.status === 'running'))
        v.deadlineAt = iso(item.deadlineAt)!;
      if (item.decidedBy) v.decidedBy = item.decidedBy;
      if (item.awaiting) v.awaiting = awaitingView(row.id, env.name, item.awaiting);
      return v;
    });
    // A rollback is not in the plan; show it when it happened.
    const rollback = env.items['rollout.rollback'];
    if (rollback) {
      steps.push({
        location: rollback.location,
        step: 'roll back to the previous version',
        status: rollback.status,
        startedAt: iso(rollback.startedAt)!,
      });
    }
    environments.push({
      name: target.name,
      status: env.status,
      phase: env.phase,
      dependsOn: target.constraints.dependsOn,
      strategy: target.strategy ?? null,
      message: env.message ?? null,
      startedAt: iso(env.startedAt),
      finishedAt: iso(env.finishedAt),
      steps,
      webhookRuns: runs.filter((r) => r.environment === target.name).map(runView),
      target: (await driver.describe(row.application, target.name)) ?? null,
    });
  }
  return { ...summaryOf(row), driver: (await driver.nameFor?.(row.id)) ?? driver.name, environments, audit };
}

function analysisView(step: AnalysisStep, item: ItemState | undefined): AnalysisView {
  const view: AnalysisView = {
    interval: `${step.interval} ${step.units}`,
    numberOfJudgmentRuns: step.numberOfJudgmentRuns,
    lookbackMethod: step.lookbackMethod ?? 'growing',
    rollBackMode: step.rollBackMode,
    rollForwardMode: step.rollForwardMode,
    abortOnFailedJudgment: step.abortOnFailedJudgment ?? false,
    queries: step.queries,
    runs: (item?.judgments ?? []).map((j) => ({
      run: j.index + 1,
      verdict: j.passed ? 'passed' : 'failed',
      scheduledAt: iso(j.scheduledAt)!,
      at: iso(j.at)!,
      window: { start: iso(j.window.start)!, end: iso(j.window.end)! },
      message: j.message,
      queries: j.queries,
    })),
  };
  if (item?.nextJudgmentAt !== undefined && item.status === 'running')
    view.nextJudgmentAt = iso(item.nextJudgmentAt)!;
  return view;
}

function awaitingView(id: string, env: string, awaiting: string): StepView['awaiting'] {
  const cmd = (action: string) => `borealis deploy ${action} ${id} --env ${env}`;
  if (awaiting === 'approval')
    return { decision: 'approve or reject', commands: [cmd('approve'), cmd('reject')] };
  return {
    decision: awaiting === 'rollForward' ? 'roll forward or roll back' : 'roll back or roll forward',
    commands: [cmd('roll-forward'), cmd('rollback')],
  };
}

function waitingMessage(w: NonNullable<WebhookRun['waitingForAgent']>): string {
  return `waiting for agent "${w.agentIdentifier}" to connect (since ${iso(w.since)}, gives up at ${iso(w.until)})`;
}

function runView(run: WebhookRun): WebhookRunView {
  const last = run.attempts.at(-1);
  const v: WebhookRunView = {
    id: run.id,
    location: run.location,
    webhookName: run.webhookName,
    status: run.status,
    callId: run.callId,
    attempts: run.attempts.length,
    createdAt: iso(run.createdAt)!,
    deadlineAt: iso(run.deadlineAt)!,
  };
  if (last?.agent)
    v.agent = { agentIdentifier: last.agent.agentIdentifier, instanceId: last.agent.instanceId };
  if (run.callback?.mdMessage) v.mdMessage = run.callback.mdMessage;
  if (run.reason) v.reason = run.reason;
  if (run.waitingForAgent && (run.status === 'pending' || run.status === 'awaiting_callback')) {
    const w = run.waitingForAgent;
    v.waiting = {
      agentIdentifier: w.agentIdentifier,
      since: iso(w.since)!,
      until: iso(w.until)!,
      message: waitingMessage(w),
    };
  }
  if (run.settledAt) v.settledAt = iso(run.settledAt)!;
  return v;
}
