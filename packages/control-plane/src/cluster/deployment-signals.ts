import type { Logger } from 'pino';
import type { DeploymentView, RunOutcome, RunOutcomes } from '../engine/index.js';
import { BorealisError, isBorealisError } from '../errors.js';
import type { ClusterBus } from './bus.js';
import { ClusterMessages, type DecisionMessage, receiveMessage } from './messages.js';

export type { DecisionMessage } from './messages.js';

export interface DeploymentSignalsOptions {
  bus: ClusterBus;
  replicaId: string;
  logger: Logger;
  /**
   * A wake-up without the outcome (sent by a replica of an older version): re-read the
   * deployment's runs if this replica drives it.
   */
  onWake: (deploymentId: string) => Promise<void>;
  /** A decision for a deployment this replica drives; resolves with the view to answer with. */
  onDecision: (message: DecisionMessage) => Promise<DeploymentView>;
  decisionTimeoutMs?: number;
}

const WAKE = 'wake';

/**
 * Run outcomes and decisions between replicas. A run settled on any replica reaches the engine
 * through one channel (`subscribe`), whether it settled here or on replica C for a deployment
 * replica B drives (so B moves on at once, not at its next deadline). A decision is applied by
 * the driver, which alone may write the deployment. The store stays the truth: an outcome lost
 * with the bus is found there again (`Engine.recheck`).
 */
export class DeploymentSignals implements RunOutcomes {
  private readonly unsubscribe: Array<() => void> = [];
  private readonly listeners: Array<(outcome: RunOutcome) => void> = [];

  constructor(private readonly options: DeploymentSignalsOptions) {}

  start(): void {
    const { bus, replicaId, logger } = this.options;
    this.unsubscribe.push(
      bus.subscribe(WAKE, (msg) => {
        const m = receiveMessage(ClusterMessages.wake, msg.data, logger);
        if (!m || m.from === replicaId) return;
        if (m.outcome?.deploymentId === m.deploymentId) {
          this.deliver(m.outcome);
          return;
        }
        this.options
          .onWake(m.deploymentId)
          .catch((err: unknown) => logger.warn({ err, deploymentId: m.deploymentId }, 'wake-up failed'));
      }),
      bus.subscribe(`decide.${replicaId}`, (msg) => {
        const m = receiveMessage(ClusterMessages.decision, msg.data, logger);
        if (!m || !msg.reply) return;
        const reply = msg.reply;
        this.options.onDecision(m).then(
          (view) => reply(ClusterMessages.decisionAnswer.encode({ view })),
          (err: unknown) => {
            const e = isBorealisError(err) ? err : new BorealisError('BRL_ERR_INTERNAL', String(err));
            reply(ClusterMessages.decisionAnswer.encode({ error: e.toWire() }));
          },
        );
      }),
    );
  }

  /** The engine's one source of run outcomes, from this replica and from the others. */
  subscribe(listener: (outcome: RunOutcome) => void): void {
    this.listeners.push(listener);
  }

  /**
   * A run settled on this replica: this replica's engine hears it, and every other replica (the
   * one driving the deployment moves it on). `runId` stays in the message for older replicas.
   */
  runSettled(outcome: RunOutcome): void {
    this.deliver(outcome);
    this.options.bus.publish(
      WAKE,
      ClusterMessages.wake.encode({
        deploymentId: outcome.deploymentId,
        runId: outcome.id,
        outcome,
        from: this.options.replicaId,
      }),
    );
  }

  private deliver(outcome: RunOutcome): void {
    for (const listener of this.listeners) {
      try {
        listener(outcome);
      } catch (err) {
        this.options.logger.warn(
          { err, deploymentId: outcome.deploymentId },
          'a run outcome listener failed',
        );
      }
    }
  }

  /** Asks the driving replica to apply a decision; its answer or its error (with its code). */
  async decide(owner: string, message: DecisionMessage): Promise<DeploymentView> {
    const answer = await this.options.bus.request(
      `decide.${owner}`,
      ClusterMessages.decision.encode(message),
      this.options.decisionTimeoutMs ?? 10_000,
    );
    const parsed = ClusterMessages.decisionAnswer.decode(answer);
    if (parsed instanceof Error) {
      throw new BorealisError(
        'BRL_ERR_INTERNAL',
        `Replica ${owner} answered the decision in a way this replica cannot read: ${parsed.message}`,
        { cause: parsed },
      );
    }
    if ('error' in parsed) throw BorealisError.fromWire(parsed.error);
    return parsed.view;
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }
}
