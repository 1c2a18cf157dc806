import type { DeploymentView } from '@borealis/control-plane';
import type { ClientConfig } from './cli-config.js';
import { apiCall, CliError } from './client.js';

interface EventData {
  seq: number;
  at: string;
  type: string;
  environment?: string;
  deploymentId: string;
  [key: string]: unknown;
}

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK']);
const MARK: Record<string, string> = { succeeded: '✓', skipped: '○', failed: '✗', cancelled: '–' };

/**
 * Follows a deployment's server-sent events and prints a readable line per transition,
 * reconnecting with Last-Event-ID if the stream drops. Resolves with the final status.
 */
export async function watchDeployment(
  config: ClientConfig,
  id: string,
  out: (s: string) => void,
  options: { bin?: string } = {},
): Promise<string> {
  const bin = options.bin ?? 'borealis';
  let last = 0;
  for (let attempt = 0; ; attempt++) {
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
      if (attempt >= 10)
        throw new CliError(`Lost the control plane at ${config.url}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
      continue;
    }
    if (!res.ok || !res.body)
      throw new CliError(`Cannot follow deployment ${id}: HTTP ${res.status} ${await res.text()}`);
    const decoder = new TextDecoder();
    let buffer = '';
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
            last = event.seq;
            const line = describe(event, id, bin);
            if (line) out(line);
          }
          cut = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // The stream broke; pick up where it stopped.
    }
    const view = await apiCall<DeploymentView>(
      config,
      'GET',
      `/api/v1/deployments/${encodeURIComponent(id)}`,
      undefined,
      { bin },
    );
    if (FINAL.has(view.status)) return view.status;
  }
}

function describe(e: EventData, id: string, bin: string): string | undefined {
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
        return `${time} ${where}${step}: waiting for approval — run: ${bin} deploy approve ${id} --env ${e.environment}`;
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
    case 'deployment.finished':
      return `${time} deployment ${id} ${String(e.status)}${typeof e.message === 'string' ? ` — ${e.message}` : ''}`;
    default:
      if (e.type.startsWith('decision.')) return `${time} ${where}${e.type.slice(9)} by ${String(e.who)}`;
      return undefined;
  }
}
