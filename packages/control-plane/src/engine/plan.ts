import {
  type AfterDeploymentStep,
  agentFor,
  type BlueGreenStep,
  type CanaryStep,
  type ConstraintStep,
  type DeploymentSpec,
  type StrategySpec,
  type TargetSpec,
  type WebhookSpec,
} from '@borealis/deploy-spec';
import type { DriverOp } from './types.js';

/** One thing an environment does: a step of the deploy file, or an action of the target driver. */
export type PlannedStep =
  | ConstraintStep
  | AfterDeploymentStep
  | CanaryStep
  | BlueGreenStep
  | { type: 'driver'; op: DriverOp };

export interface PlannedItem {
  /** Unique within the environment; for deploy-file steps, where in the file (webhook locations). */
  location: string;
  step: PlannedStep;
}

/** Groups run one after the other; `parallel` groups run their items together. */
export interface PlannedGroup {
  name:
    | 'beforeDeployment'
    | 'rollout'
    | 'redirectTrafficAfter'
    | 'moveTraffic'
    | 'shutDownOldVersionAfter'
    | 'finish'
    | 'afterDeployment';
  parallel: boolean;
  items: PlannedItem[];
}

export const ROLLBACK_LOCATION = 'rollout.rollback';

const driver = (location: string, op: DriverOp): PlannedItem => ({ location, step: { type: 'driver', op } });

/** A group whose deploy-file steps run together, each located at `<section>.<name>[i]`. */
function parallelSteps(
  name: PlannedGroup['name'],
  section: 'constraints' | 'strategy',
  steps: readonly PlannedStep[],
): PlannedGroup {
  return {
    name,
    parallel: true,
    items: steps.map((step, i) => ({ location: `${section}.${name}[${i}]`, step })),
  };
}

export function strategyOf(spec: DeploymentSpec, target: TargetSpec): StrategySpec | undefined {
  return target.strategy === undefined ? undefined : spec.strategies[target.strategy];
}

export function beforeGroup(target: TargetSpec): PlannedGroup {
  return parallelSteps('beforeDeployment', 'constraints', target.constraints.beforeDeployment);
}

export function afterGroup(target: TargetSpec): PlannedGroup {
  return parallelSteps('afterDeployment', 'constraints', target.constraints.afterDeployment);
}

/**
 * The rollout of one target as groups. Canary: deploy the new version at weight 0 beside the
 * old, run the steps in order, then give it all traffic and shut the old one down. Blue/green:
 * deploy beside the active version, run `redirectTrafficAfter` together, move traffic, run
 * `shutDownOldVersionAfter` together, shut the old one down. No strategy: replace at once.
 */
export function rolloutGroups(strategy: StrategySpec | undefined): PlannedGroup[] {
  if (strategy === undefined) {
    return [
      {
        name: 'rollout',
        parallel: false,
        items: [driver('rollout.deploy', { op: 'deploy', mode: 'replace' })],
      },
    ];
  }
  if (strategy.type === 'canary') {
    return [
      {
        name: 'rollout',
        parallel: false,
        items: [
          driver('rollout.deploy', { op: 'deploy', mode: 'canary' }),
          ...strategy.steps.map((step, i) => ({ location: `strategy.steps[${i}]`, step })),
          driver('rollout.promote', { op: 'setWeight', weight: 100 }),
          driver('rollout.shutDownOld', { op: 'shutDownOld' }),
        ],
      },
    ];
  }
  return [
    {
      name: 'rollout',
      parallel: false,
      items: [driver('rollout.deploy', { op: 'deploy', mode: 'blueGreen' })],
    },
    parallelSteps('redirectTrafficAfter', 'strategy', strategy.redirectTrafficAfter),
    { name: 'moveTraffic', parallel: false, items: [driver('rollout.moveTraffic', { op: 'moveTraffic' })] },
    parallelSteps('shutDownOldVersionAfter', 'strategy', strategy.shutDownOldVersionAfter),
    { name: 'finish', parallel: false, items: [driver('rollout.shutDownOld', { op: 'shutDownOld' })] },
  ];
}

/** Every item an environment may run, in order (for the status view). */
export function allPlannedItems(spec: DeploymentSpec, target: TargetSpec): PlannedItem[] {
  return [
    ...beforeGroup(target).items,
    ...rolloutGroups(strategyOf(spec, target)).flatMap((g) => g.items),
    ...afterGroup(target).items,
  ];
}

/** A short label for people: `runWebhook security-scan`, `pause 30 seconds`, `setWeight 25`. */
export function describeStep(step: PlannedStep): string {
  switch (step.type) {
    case 'runWebhook':
      return `runWebhook ${step.name}`;
    case 'pause':
      return step.untilApproved
        ? 'pause until approved'
        : `pause ${step.duration.duration} ${step.duration.unit}`;
    case 'analysis':
      return `analysis (${step.queries.join(', ') || 'no queries'})`;
    case 'setWeight':
      return `setWeight ${step.weight}`;
    case 'exposeServices':
      return `exposeServices ${step.services.join(', ')}`;
    case 'driver':
      return describeOp(step.op);
  }
}

export function describeOp(op: DriverOp): string {
  switch (op.op) {
    case 'deploy':
      return op.mode === 'replace'
        ? 'deploy new version'
        : `deploy new version beside the current one (${op.mode})`;
    case 'setWeight':
      return op.weight === 100 ? 'send all traffic to the new version' : `setWeight ${op.weight}`;
    case 'moveTraffic':
      return 'move traffic to the new version';
    case 'shutDownOld':
      return 'shut down the old version';
    case 'exposeServices':
      return `expose ${op.services.join(', ')}`;
    case 'rollback':
      return 'roll back to the previous version';
  }
}

/** How a webhook reaches its endpoint, for people watching: `direct` or `agent <id>`. */
export function webhookRoute(webhook: WebhookSpec | undefined, target: TargetSpec): string {
  if (!webhook) return 'unknown webhook';
  if (webhook.networkMode === 'direct') return 'direct';
  return `agent ${agentFor(webhook, target.account) ?? '(none)'}`;
}
