/**
 * The file's steps as the whole-file checks walk them: every step with its path and the targets
 * that run it, every runWebhook call site, and how a check finds the position of a path.
 */
import type { Position } from './diagnostic.js';
import type { DeploymentSpec, RunWebhookStep, StrategySpec } from './spec-types.js';
import { joinPath } from './yaml-nodes.js';

export interface Located {
  at(path: string): Position;
  keyAt(path: string): Position;
  /** Whether the file wrote this path (even with a value that failed to decode). */
  has(path: string): boolean;
}

/** Every runWebhook in the file with its path and the targets that reach it. */
export interface WebhookCallSite {
  step: RunWebhookStep;
  path: string;
  targets: string[];
}

type AnyStep = { type: string } & Record<string, unknown>;

function strategySteps(s: StrategySpec, strategyPath: string): Array<{ step: AnyStep; path: string }> {
  // Positions were recorded on the file's paths, which keep the canary/blueGreen level.
  const base = joinPath(strategyPath, s?.type ?? '');
  if (s?.type === 'canary')
    return (s.steps ?? []).map((step, i) => ({
      step: step as AnyStep,
      path: joinPath(joinPath(base, 'steps'), i),
    }));
  if (s?.type !== 'blueGreen') return [];
  return [
    ...(s.redirectTrafficAfter ?? []).map((step, i) => ({
      step: step as AnyStep,
      path: joinPath(joinPath(base, 'redirectTrafficAfter'), i),
    })),
    ...(s.shutDownOldVersionAfter ?? []).map((step, i) => ({
      step: step as AnyStep,
      path: joinPath(joinPath(base, 'shutDownOldVersionAfter'), i),
    })),
  ];
}

/** All steps of the file with their paths and the targets that run them. */
export function allSteps(spec: DeploymentSpec): Array<{ step: AnyStep; path: string; targets: string[] }> {
  const out: Array<{ step: AnyStep; path: string; targets: string[] }> = [];
  for (const [name, t] of Object.entries(spec.targets)) {
    const base = joinPath(joinPath('targets', name), 'constraints');
    const c = t?.constraints;
    c?.beforeDeployment?.forEach((step, i) => {
      out.push({
        step: step as AnyStep,
        path: joinPath(joinPath(base, 'beforeDeployment'), i),
        targets: [name],
      });
    });
    c?.afterDeployment?.forEach((step, i) => {
      out.push({
        step: step as AnyStep,
        path: joinPath(joinPath(base, 'afterDeployment'), i),
        targets: [name],
      });
    });
  }
  for (const [name, s] of Object.entries(spec.strategies)) {
    const users = Object.entries(spec.targets)
      .filter(([, t]) => t?.strategy === name)
      .map(([targetName]) => targetName);
    for (const entry of strategySteps(s, joinPath('strategies', name)))
      out.push({ ...entry, targets: users });
  }
  // A file with shape errors is checked too (all problems at once); failed parts are holes.
  return out.filter((entry) => entry.step && typeof entry.step.type === 'string');
}

export function webhookCallSites(spec: DeploymentSpec): WebhookCallSite[] {
  return allSteps(spec)
    .filter((s) => s.step.type === 'runWebhook')
    .map((s) => ({ step: s.step as unknown as RunWebhookStep, path: s.path, targets: s.targets }));
}
