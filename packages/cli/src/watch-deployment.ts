import { type DeploymentView, isFinal, type QueryVerdict } from '@borealis/deploy-spec';
import type { ClientConfig } from './cli-config.js';
import { apiCall } from './client.js';
import { ApiError, CliError } from './errors.js';
import { oneLine } from './terminal-text.js';

interface EventData {
  seq: number;
  at: string;
  type: string;
  environment?: string;
  deploymentId: string;
  [key: string]: unknown;
}

const MARK: Record<string, string> = { succeeded: '✓', skipped: '○', failed: '✗', cancelled: '–' };

/** Exit code when the watch gives up on an unreachable control plane: the outcome is unknown. */
export const WATCH_LOST_EXIT = 4;
/** The final event a stopping control plane sends on each stream (not a stored event). */
const SHUTDOWN_EVENT = 'server.shuttingDown';

export interface WatchOptions {
  bin?: string;
  /** How long to keep re-attaching while the control plane cannot be reached (default 15 min). */
  reconnectForMs?: number;
}

/**
 * Follows a deployment's server-sent events and prints a readable line per transition. When the
 * stream ends early (the control plane stopping says so with a last event; a crash just cuts it)
 * it re-attaches with Last-Event-ID — to another replica behind the same URL, or to this one once
 * it is back — waiting and retrying meanwhile. Resolves with the final status; it never reports
 * an outcome it has not seen: if the control plane stays away it gives up with exit code 4.
 */
export async function watchDeployment(
  config: ClientConfig,
  id: string,
  out: (s: string) => void,
  options: WatchOptions = {},
): Promise<string> {
  const bin = options.bin ?? 'borealis';
  const reconnectForMs = options.reconnectForMs ?? 15 * 60_000;
  let last = 0;
  let lostSince: number | undefined;
  let attempt = 0;
  const lost = async (why: string) => {
    const now = Date.now();
    if (lostSince === undefined) {
      lostSince = now;
      out(
        `${new Date(now).toISOString().slice(11, 19)} lost the control plane at ${config.url} (${why}); re-attaching (the deployment goes on; Ctrl-C stops watching, \`${bin} deploy watch ${id}\` re-attaches)`,
      );
    }
    if (now - lostSince > reconnectForMs)
      throw new CliError(
        `gave up watching deployment ${id}: the control plane at ${config.url} could not be reached for ${Math.round((now - lostSince) / 1000)} s (${why}); its outcome is unknown here. Re-attach with: ${bin} deploy watch ${id}`,
        WATCH_LOST_EXIT,
      );
    await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(attempt++, 5))));
  };
  const found = () => {
    if (lostSince !== undefined)
      out(`${new Date().toISOString().slice(11, 19)} re-attached to deployment ${id}`);
    lostSince = undefined;
    attempt = 0;
  };
  for (;;) {
    let res: Response;
    try {
      res = await fetch(`${config.url}/api/v1/deployments/${encodeURIComponent(id)}/events`, {
        headers: {
          accept: 'text/event-stream',
          ...(config.token ? { authorization: `Bearer ${config.token}` } : {}),
          ...(last ? { 'last-event-id': String(last) } : {}),
        },
      });
    } catch (err) {
      await lost((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
      continue;
    }
    // 502/503/504: a stopping replica or a balancer with no replica behind it yet.
    if (res.status >= 502 && res.status <= 504) {
      await res.body?.cancel();
      await lost(`HTTP ${res.status}`);
      continue;
    }
    if (!res.ok || !res.body)
      throw new CliError(`Cannot follow deployment ${id}: HTTP ${res.status} ${await res.text()}`);
    found();
    const decoder = new TextDecoder();
    let buffer = '';
    let shutdown: string | undefined;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (data) {
            const event = JSON.parse(data) as EventData;
            if (event.type === SHUTDOWN_EVENT) {
              shutdown = `${event.at.slice(11, 19)} the control plane${event.replicaId ? ` (replica ${String(event.replicaId)})` : ''} is shutting down; the deployment goes on — re-attaching`;
            } else {
              if (typeof event.seq === 'number') last = event.seq;
              const line = describe(event, id, bin);
              if (line) out(line);
            }
          }
          cut = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // The stream broke; pick up where it stopped.
    }
    if (shutdown) {
      out(shutdown);
      // Its listener is closing: give it a moment before knocking again.
      await lost('shutting down');
      continue;
    }
    const view = await currentView(config, id, bin, lost);
    if (isFinal(view.status)) return view.status;
  }
}

/** The deployment as the API shows it, waiting through an outage like the stream does. */
async function currentView(
  config: ClientConfig,
  id: string,
  bin: string,
  lost: (why: string) => Promise<void>,
): Promise<DeploymentView> {
  for (;;) {
    try {
      return await apiCall<DeploymentView>(
        config,
        'GET',
        `/api/v1/deployments/${encodeURIComponent(id)}`,
        undefined,
        { bin },
      );
    } catch (err) {
      // Unreachable, or a stopping replica / a balancer with nothing behind it: wait. Anything
      // else (401, 404) is for the person to fix.
      if (err instanceof ApiError && (err.status === undefined || (err.status >= 502 && err.status <= 504))) {
        await lost(err.status === undefined ? 'unreachable' : `HTTP ${err.status}`);
        continue;
      }
      throw err;
    }
  }
}

const iso = (t: number) => new Date(t).toISOString().slice(11, 19);

/** `✓ error-rate = 0.02 in [0, 0.05] (prom via agent rna)` or the failure's own message. */
export function queryLine(raw: QueryVerdict): string {
  // Provider answers come from outside: each string one terminal-safe line.
  const q = Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? oneLine(v) : v]),
  ) as unknown as QueryVerdict;
  const limits = `[${q.lowerLimit ?? '-∞'}, ${q.upperLimit ?? '+∞'}]`;
  const where = `${q.provider ?? 'no provider'}${q.via ? ` via ${q.via}` : ''}`;
  if (q.value !== undefined)
    return `${q.passed ? '✓' : '✗'} ${q.query} = ${q.value} ${q.passed ? 'in' : 'outside'} ${limits} (${where})`;
  return `✗ ${q.query} ${limits} (${where}): ${q.message}`;
}

function describe(raw: EventData, rawId: string, bin: string): string | undefined {
  // Every string in an event may come from outside (messages carry mdMessage): one line each.
  const e = Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? oneLine(v) : v]),
  ) as EventData;
  const id = oneLine(rawId);
  const time = e.at.slice(11, 19);
  const where = e.environment ? `[${e.environment}] ` : '';
  const step = typeof e.step === 'string' ? e.step : (e.location as string | undefined);
  const message = typeof e.message === 'string' && e.message ? `: ${e.message}` : '';
  switch (e.type) {
    case 'deployment.created':
      return `${time} deployment ${id} of ${String(e.application)} is RUNNING`;
    case 'deployment.queued':
      return `${time} queued behind deployment ${String(e.behind)}`;
    case 'environment.started':
      return `${time} ${where}started`;
    case 'environment.deployed':
      return `${time} ${where}new version deployed; after-deployment checks next`;
    case 'environment.rollingBack':
      return `${time} ${where}rolling back${message}`;
    case 'environment.finished':
      return `${time} ${where}${String(e.status)}${message}`;
    case 'item.started': {
      if (e.awaiting === 'approval') {
        const roles = Array.isArray(e.requiresRoles) ? e.requiresRoles.map((r) => oneLine(r)) : [];
        const by = roles.length ? ` by ${[...roles, 'admin'].join(' or ')}` : '';
        return `${time} ${where}${step}: waiting for approval${by} — run: ${bin} deploy approve ${id} --env ${e.environment}`;
      }
      if (e.kind === 'webhook') return `${time} ${where}${step}: calling (${String(e.via ?? 'direct')})`;
      if (e.kind === 'pause' && typeof e.deadlineAt === 'number') {
        return `${time} ${where}${step}: paused until ${new Date(e.deadlineAt).toISOString().slice(11, 19)}`;
      }
      return `${time} ${where}${step}${message}`;
    }
    case 'item.waiting':
      if (e.awaiting === 'rollbackOrRollForward' || e.awaiting === 'rollForward') {
        return `${time} ${where}${step ?? ''}${message} — run: ${bin} deploy rollback|roll-forward ${id} --env ${e.environment}`;
      }
      return `${time} ${where}${step}${message}`;
    case 'item.succeeded':
    case 'item.skipped':
    case 'item.failed':
    case 'item.cancelled':
      return `${time} ${where}${MARK[e.type.slice(5)] ?? ''} ${step}${message}`;
    case 'item.judgment': {
      // One line per run: its verdict and window, then each query's value against its limits.
      const w = e.window as { start: number; end: number } | undefined;
      const span = w ? ` window ${iso(w.start)}–${iso(w.end)}` : '';
      const head = `${time} ${where}${e.location as string}: judgment ${Number(e.index) + 1} of ${String(e.of)} ${e.passed ? 'passed' : 'FAILED'}${span}`;
      const queries = (e.queries as QueryVerdict[] | undefined) ?? [];
      return [head, ...queries.map((q) => `         ${queryLine(q)}`)].join('\n');
    }
    case 'deployment.finished':
      return `${time} deployment ${id} ${String(e.status)}${typeof e.message === 'string' ? ` — ${e.message}` : ''}`;
    default:
      if (e.type.startsWith('decision.'))
        return `${time} ${where}${e.type.slice(9)} by ${String(e.who)}${typeof e.reason === 'string' ? `: ${e.reason}` : ''}`;
      return undefined;
  }
}
