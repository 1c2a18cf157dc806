import { formatDuration } from '@borealis/protocol';
import type { Logger } from 'pino';
import type { Dispatcher } from '../relay/index.js';
import type { Store, WebhookRunRow } from '../store/index.js';
import type { RunTimers, Settle } from './run-timers.js';
import { WebhookRunStatus } from './types.js';

/**
 * BOREALIS_AGENT_WAIT: a `remoteNetworkAgent` run whose agent is not connected waits for one
 * (an agent's restart, a rolling upgrade) instead of failing at once. Waiting is not an attempt.
 */

/** BOREALIS_AGENT_WAIT's default: long enough for an agent's restart or a rolling upgrade. */
export const DEFAULT_AGENT_WAIT_MS = 120_000;

export interface AgentWaitDeps {
  repo: Pick<Store['webhookRuns'], 'update'>;
  dispatcher: Pick<Dispatcher, 'hasAgent' | 'waitForAgent'>;
  timers: Pick<RunTimers, 'closed' | 'inFlight'>;
  settle: Settle;
  log: Logger;
  /** BOREALIS_AGENT_WAIT, in ms. */
  agentWaitMs: number;
}

/**
 * Waits for an agent of `agentIdentifier` while the run stays pending: recorded on the run (so
 * every replica's status shows it) and bounded by BOREALIS_AGENT_WAIT from `since` and by the
 * run's deadline. True when an agent is there; false when the run settled meanwhile (cancel,
 * deadline), this process is stopping, or the bound passed (then the run failed, saying which
 * agent and how to fix it).
 */
export type AwaitAgent = (row: WebhookRunRow, agentIdentifier: string, since: number) => Promise<boolean>;

export function createAgentWait(deps: AgentWaitDeps): AwaitAgent {
  const { repo, dispatcher, timers, log, agentWaitMs } = deps;
  return async function awaitAgent(row, agentIdentifier, since) {
    const runId = row.id;
    const until = Math.min(since + agentWaitMs, row.deadline_at);
    // Calls may keep finding no agent though presence lists one (a replica's list a moment
    // behind): the bound holds for that too, so a run never spins past it.
    const callsFoundNone = Date.now() >= until;
    if (!callsFoundNone && !dispatcher.hasAgent(agentIdentifier)) {
      const waiting = JSON.stringify({ agentIdentifier, since, until });
      const marked = await repo.update(runId, { waiting, updated_at: Date.now() }, [
        WebhookRunStatus.pending,
      ]);
      if (!marked || timers.closed) return false;
      log.info(
        { runId, agentIdentifier, waitMs: until - Date.now() },
        `waiting for agent "${agentIdentifier}" to connect`,
      );
      const controller = new AbortController();
      timers.inFlight.set(runId, controller);
      try {
        await dispatcher.waitForAgent(agentIdentifier, {
          timeoutMs: until - Date.now(),
          signal: controller.signal,
        });
      } finally {
        if (timers.inFlight.get(runId) === controller) timers.inFlight.delete(runId);
      }
      // Cancelled or past its deadline meanwhile: whoever stopped the wait has settled the run.
      if (timers.closed || controller.signal.aborted) return false;
      await repo.update(runId, { waiting: null, updated_at: Date.now() }, [WebhookRunStatus.pending]);
    }
    if (!callsFoundNone && dispatcher.hasAgent(agentIdentifier)) return true;
    const waited = formatDuration(Math.max(0, Math.round((Date.now() - since) / 1000)) * 1000);
    const bound =
      until < since + agentWaitMs
        ? "the run's deadline (BOREALIS_CALLBACK_TIMEOUT)"
        : `BOREALIS_AGENT_WAIT=${formatDuration(agentWaitMs)}`;
    const reason =
      `no agent "${agentIdentifier}" connected within ${waited} of waiting (${bound}): ` +
      `start one with BOREALIS_AGENT_IDENTIFIER=${agentIdentifier} that dials this control plane ` +
      '(GET /api/v1/agents lists who is connected), check its logs for refused credentials, ' +
      'or raise BOREALIS_AGENT_WAIT if restarts take longer';
    await deps.settle(runId, WebhookRunStatus.failed, { reason, reason_code: 'BRL_ERR_AGENT_NOT_CONNECTED' });
    return false;
  };
}
