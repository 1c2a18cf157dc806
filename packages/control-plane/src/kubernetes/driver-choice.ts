import { KUBERNETES_API_HOST } from '@borealis/protocol';
import type { Logger } from 'pino';
import type { TargetDriver, TargetRef } from '../engine/target-driver.js';
import { BorealisError } from '../errors.js';
import type { Dispatcher } from '../relay/index.js';
import type { TargetDriverRepository } from '../store/index.js';

export const TARGET_DRIVER_MODES = ['auto', 'kubernetes', 'simulated'] as const;
export type TargetDriverMode = (typeof TARGET_DRIVER_MODES)[number];

export interface DriverChoiceOptions {
  mode: TargetDriverMode;
  kubernetes: TargetDriver;
  simulated: TargetDriver;
  /** Where each environment's choice is kept (`store.targetDrivers`). */
  choices: TargetDriverRepository;
  dispatcher: Dispatcher;
  logger: Logger;
}

/**
 * Picks the driver of each environment at its first action and keeps it (stored), so that a
 * restart or an agent that went away never switches a rollout to another driver halfway.
 *
 * - `kubernetes`: every target is a Kubernetes target (fails closed: no account, no deploy).
 * - `simulated`: nothing runs anywhere; for demos and tests.
 * - `auto` (default): Kubernetes when the target's account is an agent that speaks for a cluster
 *   (it answers on the Kubernetes virtual host, or has before), simulated otherwise — and the
 *   status view says which, and why.
 */
export function createDriverChoice(options: DriverChoiceOptions): TargetDriver {
  const { choices, mode, logger } = options;
  const drivers: Record<string, TargetDriver> = {
    kubernetes: options.kubernetes,
    simulated: options.simulated,
  };

  async function decide(target: TargetRef): Promise<{ driver: string; reason: string }> {
    if (mode === 'kubernetes') return { driver: 'kubernetes', reason: 'BOREALIS_TARGET_DRIVER=kubernetes' };
    if (mode === 'simulated') return { driver: 'simulated', reason: 'BOREALIS_TARGET_DRIVER=simulated' };
    const account = target.account;
    if (!account) return { driver: 'simulated', reason: `environment ${target.environment} has no account` };
    try {
      const res = await options.dispatcher.dispatch(account, {
        method: 'GET',
        url: `https://${KUBERNETES_API_HOST}/version`,
        headers: [['accept', 'application/json']],
        timeoutMs: 10_000,
      });
      res.body.resume();
      await choices.markKubernetesAgent(account, Date.now());
      return { driver: 'kubernetes', reason: `agent ${account} speaks for a Kubernetes cluster` };
    } catch (err) {
      const code = err instanceof BorealisError ? err.code : undefined;
      if (await choices.isKubernetesAgent(account))
        return {
          driver: 'kubernetes',
          reason: `agent ${account} answered as a Kubernetes agent before (now: ${(err as Error).message})`,
        };
      if (code === 'BRL_ERR_AGENT_REFUSED')
        return {
          driver: 'simulated',
          reason: `agent ${account} was not started with BOREALIS_KUBERNETES, so nothing is deployed for real`,
        };
      if (code === 'BRL_ERR_AGENT_NOT_CONNECTED')
        return {
          driver: 'simulated',
          reason: `no agent ${account} is connected and none ever answered as a Kubernetes agent, so nothing is deployed for real (set BOREALIS_TARGET_DRIVER=kubernetes to fail instead)`,
        };
      // Anything else means the question could not be asked: better to fail than to pretend.
      throw err;
    }
  }

  async function choose(target: TargetRef): Promise<TargetDriver> {
    const known = await choices.chosen(target.deploymentId, target.environment);
    if (known) return drivers[known.driver] ?? options.simulated;
    const choice = await decide(target);
    await choices.choose(target, choice, Date.now());
    const final = (await choices.chosen(target.deploymentId, target.environment)) ?? choice;
    logger.info(
      {
        deploymentId: target.deploymentId,
        environment: target.environment,
        driver: final.driver,
        reason: final.reason,
      },
      'target driver chosen',
    );
    return drivers[final.driver] ?? options.simulated;
  }

  return {
    name: mode === 'auto' ? 'auto' : mode,
    async apply(target, op, context) {
      return (await choose(target)).apply(target, op, context);
    },
    async nameFor(deploymentId) {
      if (mode !== 'auto') return mode;
      const names = [...new Set(await choices.driversOf(deploymentId))].sort();
      return names.length ? names.join('+') : 'auto';
    },
    async describe(application, environment) {
      const row = await choices.latest(application, environment);
      const driver = row
        ? drivers[row.driver]
        : mode === 'kubernetes'
          ? options.kubernetes
          : options.simulated;
      const view = await driver?.describe(application, environment);
      if (!view || !row) return view;
      return { ...view, location: view.location ? `${view.location} (${row.reason})` : row.reason };
    },
  };
}
