import type { DeploymentSpec } from '@borealis/deploy-spec';
import { approvalRefusal } from '../access/index.js';
import { allPlannedItems, describeStep } from './plan.js';
import {
  type DeploymentState,
  type EngineEvent,
  type EnvironmentState,
  type ItemState,
  isFinal,
  Phase,
} from './types.js';

/** What people may decide, as the API and CLI name it. */
export const DECISION_ACTIONS = ['approve', 'reject', 'rollback', 'roll-forward', 'cancel'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

export interface Decision {
  action: DecisionAction;
  /** Required for all but `cancel` (which without it cancels the whole deployment). */
  environment?: string;
  /** The token's name. */
  who: string;
  /**
   * The token's roles: approve and reject are judged against the waiting pause's
   * `requiresRoles` here, where the pause that waits is known (admin may approve anything).
   */
  roles: readonly string[];
  now: number;
  reason?: string;
  /** For the audit log: the caller's address and the token's id. */
  source?: string;
  tokenId?: string | null;
}

export type DecisionResult =
  | { ok: true; events: EngineEvent[] }
  | { ok: false; conflict: string }
  | { ok: false; notFound: string }
  | { ok: false; forbidden: { requiredRoles: string[]; what: string } };

/**
 * Applies a person's decision to the state (pure; the engine stores the result, audits it, and
 * decides again). A decision that does not fit what the environment is doing is refused with a
 * message naming what it is doing.
 */
export function applyDecision(spec: DeploymentSpec, state: DeploymentState, d: Decision): DecisionResult {
  const events: EngineEvent[] = [];
  const record = (type: string, environment: string | undefined, data: Record<string, unknown>) =>
    events.push(environment === undefined ? { type, data } : { type, environment, data });
  const allFinal = Object.values(state.environments).every((e) => isFinal(e.status));

  if (d.action === 'cancel' && d.environment === undefined) {
    if (allFinal)
      return { ok: false, conflict: 'the deployment has already ended; there is nothing to cancel' };
    state.cancel = { by: d.who, reason: d.reason ?? 'cancel requested', at: d.now };
    record('decision.cancel', undefined, { who: d.who, ...(d.reason ? { reason: d.reason } : {}) });
    return { ok: true, events };
  }
  if (d.environment === undefined)
    return { ok: false, notFound: `${d.action} needs the environment: send {"environment": "<name>"}` };
  const env = state.environments[d.environment];
  if (!env) {
    return {
      ok: false,
      notFound: `this deployment has no environment ${d.environment}; it has ${Object.keys(state.environments).join(', ')}`,
    };
  }
  const refuse = (wanted: string) => ({
    ok: false as const,
    conflict: `${env.name} is not ${wanted}: ${describeActivity(spec, env)}`,
  });

  switch (d.action) {
    case 'approve':
    case 'reject': {
      const item = Object.values(env.items).find((i) => i.status === 'waiting' && i.awaiting === 'approval');
      if (!item) return refuse('waiting for an approval');
      const requiresRoles = requiredRoles(spec, env.name, item.location);
      // A decision without roles (say, from a replica that predates them) approves nothing.
      const needs = approvalRefusal(Array.isArray(d.roles) ? d.roles : [], requiresRoles);
      if (needs) {
        return {
          ok: false,
          forbidden: {
            requiredRoles: needs,
            what: `${d.action === 'approve' ? 'Approving' : 'Rejecting'} the pause at ${item.location} in ${env.name}${requiresRoles.length ? ` (requiresRoles: ${requiresRoles.join(', ')})` : ''}`,
          },
        };
      }
      const why = d.reason ? `: ${d.reason}` : '';
      settleByPerson(
        env,
        item,
        d,
        d.action === 'approve' ? 'succeeded' : 'failed',
        d.action === 'approve' ? `approved by ${d.who}${why}` : `rejected by ${d.who}${why}`,
      );
      record(`decision.${d.action}`, env.name, {
        who: d.who,
        location: item.location,
        ...(d.reason ? { reason: d.reason } : {}),
      });
      return { ok: true, events };
    }
    case 'roll-forward': {
      const item = Object.values(env.items).find(
        (i) =>
          i.status === 'waiting' && (i.awaiting === 'rollbackOrRollForward' || i.awaiting === 'rollForward'),
      );
      if (!item) return refuse('waiting for a roll-forward decision');
      settleByPerson(
        env,
        item,
        d,
        'succeeded',
        `rolled forward by ${d.who}${d.reason ? `: ${d.reason}` : ''}`,
      );
      record('decision.roll-forward', env.name, {
        who: d.who,
        location: item.location,
        ...(d.reason ? { reason: d.reason } : {}),
      });
      return { ok: true, events };
    }
    case 'rollback': {
      if (env.phase !== Phase.strategy)
        return refuse('in its rollout (only a rollout in progress can be rolled back)');
      env.rollbackRequestedBy = d.reason ? `${d.who}: ${d.reason}` : d.who;
      record('decision.rollback', env.name, { who: d.who, ...(d.reason ? { reason: d.reason } : {}) });
      return { ok: true, events };
    }
    case 'cancel': {
      if (isFinal(env.status) || env.phase === Phase.rollingBack) return refuse('running');
      state.cancelEnvironments = {
        ...state.cancelEnvironments,
        [env.name]: { by: d.who, reason: d.reason ?? 'cancel requested' },
      };
      record('decision.cancel', env.name, { who: d.who, ...(d.reason ? { reason: d.reason } : {}) });
      return { ok: true, events };
    }
  }
}

/** The roles the pause at `location` requires (none named: an empty list). */
function requiredRoles(spec: DeploymentSpec, environment: string, location: string): string[] {
  const target = spec.targets[environment];
  const planned = target ? allPlannedItems(spec, target).find((p) => p.location === location) : undefined;
  const step = planned?.step;
  return step?.type === 'pause' && step.untilApproved ? [...step.requiresRoles] : [];
}

function settleByPerson(
  env: EnvironmentState,
  item: ItemState,
  d: Decision,
  status: 'succeeded' | 'failed',
  message: string,
): void {
  // Time spent waiting on a person does not count against deploymentConfig.timeout.
  if (env.rolloutDeadlineAt !== undefined) env.rolloutDeadlineAt += Math.max(0, d.now - item.startedAt);
  item.status = status;
  item.finishedAt = d.now;
  item.decidedBy = d.who;
  item.message = item.kind === 'analysis' && item.message ? `${item.message}; ${message}` : message;
  delete item.awaiting;
}

/** "RUNNING in strategy: strategy.steps[1] runWebhook system-health (waiting for the callback)". */
export function describeActivity(spec: DeploymentSpec, env: EnvironmentState): string {
  if (isFinal(env.status)) return `it ended ${env.status}${env.message ? ` (${env.message})` : ''}`;
  if (env.phase === Phase.waiting) return 'it is PENDING, waiting for the environments it depends on';
  const target = spec.targets[env.name];
  const planned = target ? allPlannedItems(spec, target) : [];
  const open = Object.values(env.items)
    .filter((i) => i.status === 'running' || i.status === 'waiting')
    .map((i) => {
      const step = planned.find((p) => p.location === i.location);
      return `${i.location}${step ? ` ${describeStep(step.step)}` : ''}${i.message ? ` (${i.message})` : ''}`;
    });
  return `it is ${env.status} in ${env.phase}${open.length ? `: ${open.join('; ')}` : ''}`;
}
