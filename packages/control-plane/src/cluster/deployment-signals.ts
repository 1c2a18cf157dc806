import type { Logger } from 'pino';
import { BorealisError, ErrorCatalogue, type ErrorCode, isBorealisError } from '../errors.js';
import type { BusMessage, ClusterBus } from './bus.js';

/** A person's decision as it travels to the replica that drives the deployment. */
export interface DecisionMessage {
  deploymentId: string;
  decision: Record<string, unknown> & { action: string; who: string };
}

export interface DeploymentSignalsOptions {
  bus: ClusterBus;
  replicaId: string;
  logger: Logger;
  /** A wake-up arrived: re-evaluate the deployment if this replica drives it. */
  onWake: (deploymentId: string, runId: string | undefined) => Promise<void>;
  /** A decision for a deployment this replica drives; resolves with the view to answer with. */
  onDecision: (message: DecisionMessage) => Promise<unknown>;
  decisionTimeoutMs?: number;
}

const WAKE = 'wake';

/**
 * Deployment wake-ups and decisions between replicas. The store stays the truth: a wake-up only
 * says "look again now" (so a callback settled on replica C moves the deployment replica B drives
 * at once, not at its next deadline), and a decision is applied by the driver, which alone may
 * write the deployment.
 */
export class DeploymentSignals {
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly options: DeploymentSignalsOptions) {}

  start(): void {
    const { bus, replicaId, logger } = this.options;
    this.unsubscribe.push(
      bus.subscribe(WAKE, (msg) => {
        const m = parse<{ deploymentId?: string; runId?: string; from?: string }>(msg);
        if (!m?.deploymentId || m.from === replicaId) return;
        this.options
          .onWake(m.deploymentId, m.runId)
          .catch((err: unknown) => logger.warn({ err, deploymentId: m.deploymentId }, 'wake-up failed'));
      }),
      bus.subscribe(`decide.${replicaId}`, (msg) => {
        const m = parse<DecisionMessage>(msg);
        if (!m?.deploymentId || !msg.reply) return;
        const reply = msg.reply;
        this.options.onDecision(m).then(
          (view) => reply(Buffer.from(JSON.stringify({ view }))),
          (err: unknown) => {
            const e = isBorealisError(err) ? err : new BorealisError('BRL_ERR_INTERNAL', String(err));
            reply(
              Buffer.from(
                JSON.stringify({ error: { code: e.code, message: e.message, details: e.details ?? {} } }),
              ),
            );
          },
        );
      }),
    );
  }

  /** Tells every replica; the one driving the deployment re-evaluates it. */
  wake(deploymentId: string, runId?: string): void {
    this.options.bus.publish(
      WAKE,
      Buffer.from(JSON.stringify({ deploymentId, runId, from: this.options.replicaId })),
    );
  }

  /** Asks the driving replica to apply a decision; its answer or its error (with its code). */
  async decide(owner: string, message: DecisionMessage): Promise<unknown> {
    const answer = await this.options.bus.request(
      `decide.${owner}`,
      Buffer.from(JSON.stringify(message)),
      this.options.decisionTimeoutMs ?? 10_000,
    );
    const parsed = JSON.parse(Buffer.from(answer).toString('utf8')) as {
      view?: unknown;
      error?: { code: string; message: string; details: Record<string, unknown> };
    };
    if (parsed.error) {
      const code: ErrorCode = Object.hasOwn(ErrorCatalogue, parsed.error.code)
        ? (parsed.error.code as ErrorCode)
        : 'BRL_ERR_INTERNAL';
      throw new BorealisError(code, parsed.error.message, { details: parsed.error.details });
    }
    return parsed.view;
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }
}

function parse<T>(msg: BusMessage): T | undefined {
  try {
    return JSON.parse(Buffer.from(msg.data).toString('utf8')) as T;
  } catch {
    return undefined;
  }
}
