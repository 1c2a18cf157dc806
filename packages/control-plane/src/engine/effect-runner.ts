import { slugOf } from '@borealis/deploy-spec';
import type { Logger } from 'pino';
import { mergeContext } from '../templates/index.js';
import type { WebhookService } from '../webhooks/types.js';
import { factKey, type LiveDeployment, outcomeOf, rememberRun, versionOf } from './live-deployment.js';
import type { JudgmentOutcome, MetricJudge } from './metric-provider.js';
import { type TargetDriver, TargetDriverError } from './target-driver.js';
import type { Effect } from './types.js';

export interface EffectRunnerOptions {
  driver: TargetDriver;
  webhooks: Pick<WebhookService, 'start' | 'cancel' | 'find'>;
  /** Judges analysis steps; without one every judgment fails saying so. */
  judge?: MetricJudge | undefined;
  logger: Logger;
  /** Something was learnt outside the deployment's queue: step the machine again. */
  kick: (live: LiveDeployment) => void;
}

export interface EffectRunner {
  /** Performs effects; true when one of them produced a fact worth deciding on at once. */
  perform(live: LiveDeployment, effects: Effect[]): Promise<boolean>;
}

/**
 * Performing effects the machine asked for, once the transition that asked is stored: target
 * driver actions, webhook starts and cancels, metric judgments. Each is idempotent (a crash
 * decides again and asks again); long work runs beside the deployment's queue and kicks it when
 * done.
 */
export function createEffectRunner(options: EffectRunnerOptions): EffectRunner {
  const { driver, webhooks, judge, logger, kick } = options;
  return { perform };

  async function perform(live: LiveDeployment, effects: Effect[]): Promise<boolean> {
    let learnt = false;
    for (const effect of effects) {
      const key = factKey(effect.environment, effect.location);
      const target = live.spec.targets[effect.environment];
      if (!target) continue;
      switch (effect.type) {
        case 'driver': {
          if (live.inFlight.has(key) || live.driverDone.has(key) || live.driverFailed.has(key)) break;
          live.inFlight.add(key);
          const controller = new AbortController();
          live.driverAborts.set(key, controller);
          const envState = live.state.environments[effect.environment];
          const deadlineAt = effect.op.op === 'rollback' ? undefined : envState?.rolloutDeadlineAt;
          // Driver actions may take minutes (a rollout): they run beside the deployment's queue,
          // so that people's decisions and cancellations are not held up behind them.
          const running = Promise.resolve()
            .then(() =>
              driver.apply(
                {
                  application: live.application,
                  environment: effect.environment,
                  deploymentId: live.id,
                  version: versionOf(live.id),
                  ...(target.account ? { account: target.account } : {}),
                  ...(target.namespace ? { namespace: target.namespace } : {}),
                },
                effect.op,
                {
                  spec: live.spec,
                  signal: controller.signal,
                  ...(deadlineAt !== undefined ? { deadlineAt } : {}),
                  progress: (message) => {
                    if (controller.signal.aborted || live.driverProgress.get(key) === message) return;
                    live.driverProgress.set(key, message);
                    kick(live);
                  },
                },
              ),
            )
            .then(
              (result) => {
                if (controller.signal.aborted) return;
                if (result?.message) live.driverProgress.set(key, result.message);
                live.driverDone.add(key);
              },
              (err: unknown) => {
                if (controller.signal.aborted) return;
                if (err instanceof TargetDriverError) {
                  live.driverFailed.set(key, err.message);
                  return;
                }
                logger.warn(
                  { err, deploymentId: live.id, environment: effect.environment, op: effect.op.op },
                  'driver action failed; it will be tried again',
                );
                setTimeout(() => kick(live), 1_000).unref();
              },
            )
            .finally(() => {
              live.inFlight.delete(key);
              if (live.driverAborts.get(key) === controller) live.driverAborts.delete(key);
              live.pending.delete(running);
              kick(live);
            });
          live.pending.add(running);
          break;
        }
        case 'cancelDriver': {
          live.driverAborts.get(key)?.abort(new Error('the step was stopped'));
          break;
        }
        case 'startWebhook': {
          if (live.inFlight.has(key) || live.runs.has(key)) break;
          const webhook = live.spec.webhooks.find((w) => w.name === effect.step.name);
          if (!webhook) {
            live.runs.set(key, { id: '', status: 'failed', reason: `no webhook named ${effect.step.name}` });
            learnt = true;
            break;
          }
          live.inFlight.add(key);
          try {
            const run = await webhooks.start({
              deploymentId: live.id,
              environment: effect.environment,
              location: effect.location,
              webhook,
              context: mergeContext(live.spec.context, live.context, effect.step.context),
              armory: {
                deploymentId: live.id,
                applicationName: live.application,
                environmentName: effect.environment,
                accountName: target.account ?? '',
                namespace: target.namespace ?? '',
                // The application's name may be any text (`Potato Facts`); a name is a slug.
                replicaSetName: `${slugOf(live.application)}-${versionOf(live.id)}`,
              },
              ...(target.account ? { account: target.account } : {}),
            });
            // Its outcome may already be known (an idempotent start of a run settled before).
            if (rememberRun(live, outcomeOf(run))) learnt = true;
          } catch (err) {
            live.runs.set(key, {
              id: '',
              status: 'failed',
              reason: `the webhook could not be started: ${(err as Error).message}`,
            });
            learnt = true;
          } finally {
            live.inFlight.delete(key);
          }
          break;
        }
        case 'cancelWebhook': {
          const runId =
            live.runs.get(key)?.id || (await webhooks.find(live.id, effect.environment, effect.location))?.id;
          if (runId) await webhooks.cancel(runId, effect.reason);
          break;
        }
        case 'judge': {
          const jk = `${key}#${effect.index}`;
          if (live.inFlight.has(jk) || live.judgments.has(jk)) break;
          live.inFlight.add(jk);
          const queries = live.spec.analysis.queries.filter((q) => effect.step.queries.includes(q.name));
          const asked: Promise<JudgmentOutcome> = judge
            ? judge.judge({
                deploymentId: live.id,
                application: live.application,
                environment: effect.environment,
                ...(target.account ? { account: target.account } : {}),
                ...(target.namespace ? { namespace: target.namespace } : {}),
                replicaSetName: `${slugOf(live.application)}-${versionOf(live.id)}`,
                step: effect.step,
                queries,
                ...(live.spec.analysis.defaultMetricProviderName
                  ? { defaultMetricProviderName: live.spec.analysis.defaultMetricProviderName }
                  : {}),
                context: mergeContext(live.spec.context, live.context, effect.step.context),
                index: effect.index,
                window: effect.window,
              })
            : Promise.resolve({
                passed: false,
                message: 'this control plane has no metric judge configured; nothing was measured',
                queries: [],
              });
          // Judged in the background: a slow provider must not hold the deployment's queue.
          void asked
            .catch(
              (err: unknown): JudgmentOutcome => ({
                passed: false,
                message: `the judgment failed: ${(err as Error).message}`,
                queries: [],
              }),
            )
            .then((verdict) => {
              live.inFlight.delete(jk);
              live.judgments.set(jk, verdict);
              kick(live);
            });
          break;
        }
      }
    }
    return learnt;
  }
}
