import { ManifestError } from '@borealis/deploy-spec';
import type { Logger } from 'pino';
import { type DriverContext, type TargetDriver, TargetDriverError } from '../engine/target-driver.js';
import type { DriverOp } from '../engine/types.js';
import type { Dispatcher } from '../relay/index.js';
import type { KubernetesRolloutRepository } from '../store/index.js';
import { KubernetesApiError } from './api-client.js';
import { applyDeploy } from './apply-step.js';
import { rollback } from './rollback-step.js';
import { createRolloutRecords, KUBERNETES_DRIVER_NAME, type RolloutRecord } from './rollout-record.js';
import { createStepKit } from './step-kit.js';
import { moveTraffic, setWeight, shutDownOld } from './traffic-steps.js';

export interface KubernetesDriverOptions {
  /** Where each rollout's record is kept (`store.kubernetesRollouts`). */
  rollouts: KubernetesRolloutRepository;
  dispatcher: Dispatcher;
  logger: Logger;
  /** Longest single watch before it is re-established (tests shorten it). */
  watchSeconds?: number;
}

/**
 * The `kubernetes` target driver: server-side apply of the deploy file's manifests through the
 * agent named by the target's account, rollouts watched to the end, canary and blue/green as
 * two Deployments side by side, rollback to what was there before. Each step is its own file
 * (`apply-step.ts`, `traffic-steps.ts`, `rollback-step.ts`); here they are retried and routed.
 */
export function createKubernetesDriver(options: KubernetesDriverOptions): TargetDriver & {
  record(deploymentId: string, environment: string): Promise<RolloutRecord | undefined>;
} {
  const { dispatcher, logger } = options;
  const records = createRolloutRecords(options.rollouts);
  const kit = createStepKit({ dispatcher, records, watchSeconds: options.watchSeconds });

  /** Transient trouble (no agent, a 503) is tried again until the step is stopped. */
  async function retrying<T>(what: string, ctx: DriverContext, fn: () => Promise<T>): Promise<T> {
    let delay = 250;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        if (err instanceof TargetDriverError) throw err;
        if (err instanceof ManifestError) throw new TargetDriverError(err.message);
        if (err instanceof KubernetesApiError && !err.retryable) throw new TargetDriverError(err.message);
        if (ctx.deadlineAt !== undefined && Date.now() > ctx.deadlineAt)
          throw new TargetDriverError(
            `${what} did not succeed before deploymentConfig.timeout: ${(err as Error).message}`,
          );
        ctx.progress(`${what}: ${(err as Error).message}; trying again`);
        logger.warn({ err: (err as Error).message }, `${what} failed; trying again`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  return {
    name: KUBERNETES_DRIVER_NAME,
    record: records.load,
    async apply(target, op: DriverOp, context) {
      if (!context)
        throw new TargetDriverError('the kubernetes driver needs the deploy file (driver context)');
      if (!target.account)
        throw new TargetDriverError(
          `environment ${target.environment} has no account: name the agent that runs in its cluster (targets.${target.environment}.account)`,
        );
      const ctx = context;
      switch (op.op) {
        case 'deploy':
          return retrying(`deploy to ${target.environment}`, ctx, () =>
            applyDeploy(kit, target, op.mode, ctx),
          );
        case 'setWeight':
          return retrying(`setWeight ${op.weight}`, ctx, () => setWeight(kit, target, op.weight, ctx));
        case 'moveTraffic':
          return retrying('move traffic', ctx, () => moveTraffic(kit, target, ctx));
        case 'shutDownOld':
          return retrying('shut down the old version', ctx, () => shutDownOld(kit, target, ctx));
        case 'exposeServices':
          return {
            message: `exposeServices (${op.services.join(', ')}) is not acted on by the kubernetes driver`,
          };
        case 'rollback':
          return retrying('roll back', ctx, () => rollback(kit, target, ctx));
      }
    },
    describe: (application, environment) => records.describe(application, environment),
  };
}
