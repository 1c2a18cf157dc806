import { Agent, request as undiciRequest } from 'undici';
import { BorealisError, isBorealisError } from '../errors.js';
import type { Dispatcher } from '../relay/index.js';
import {
  describeNetworkError,
  errorCode,
  guardedConnector,
  type LookupAll,
  type SsrfGuard,
} from '../webhooks/index.js';

/** A query as sent: always a GET (Prometheus' instant query, a web metric's URL). */
export interface MetricRequest {
  url: string;
  headers: Array<[string, string]>;
}

export interface MetricAnswer {
  status: number;
  contentType: string;
  body: string;
  /** The agent that carried it, when one did. */
  agent?: { agentIdentifier: string; instanceId: string };
}

export interface SendOptions {
  /** Set: through that agent; unset: direct, behind the SSRF guard. */
  agentIdentifier?: string;
  timeoutMs: number;
  /** The URL as people may see it, for messages. */
  displayUrl: string;
}

/** The most of an answer read: a query that returns more than this should aggregate. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * Carries metric queries the way webhooks travel: `direct` through undici with the SSRF guard in
 * the connector (checked on the address actually connected to), `remoteNetworkAgent` through the
 * relay's dispatch to an agent (whose own allow-list decides).
 */
export function createMetricTransport(deps: {
  guard: SsrfGuard;
  dispatcher: Dispatcher;
  lookup?: LookupAll;
}) {
  const agent = new Agent({
    connect: guardedConnector(deps.guard, deps.lookup ? { lookup: deps.lookup } : {}),
    keepAliveTimeout: 4_000,
  });

  async function direct(req: MetricRequest, opts: SendOptions): Promise<MetricAnswer> {
    const signal = AbortSignal.timeout(opts.timeoutMs);
    try {
      const res = await undiciRequest(req.url, {
        dispatcher: agent,
        method: 'GET',
        headers: req.headers.flat(),
        signal,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
      const body = await readCapped(res.body, opts.displayUrl);
      const ct = res.headers['content-type'];
      return { status: res.statusCode, contentType: typeof ct === 'string' ? ct : '', body };
    } catch (err) {
      if (isBorealisError(err)) throw err;
      const code = errorCode(err);
      if (signal.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
        throw new BorealisError(
          'BRL_ERR_METRIC_TIMEOUT',
          `${opts.displayUrl} did not answer within ${opts.timeoutMs} ms`,
          { cause: err },
        );
      const message = err instanceof Error ? err.message : String(err);
      const what = describeNetworkError(code, message);
      throw new BorealisError('BRL_ERR_METRIC_UNREACHABLE', `could not reach ${opts.displayUrl}: ${what}`, {
        cause: err,
      });
    }
  }

  /**
   * An agent that is not connected right now (a control plane just restarted, an agent
   * reconnecting) or busy is waited for, within the query's own time limit; then the run fails
   * with the relay's message.
   */
  async function dispatchPatiently(id: string, req: MetricRequest, opts: SendOptions) {
    const deadline = Date.now() + opts.timeoutMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        return await deps.dispatcher.dispatch(id, {
          method: 'GET',
          url: req.url,
          headers: req.headers,
          timeoutMs: Math.max(1, deadline - Date.now()),
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now()) + 1_000),
        });
      } catch (err) {
        const waitable =
          isBorealisError(err, 'BRL_ERR_AGENT_NOT_CONNECTED') ||
          isBorealisError(err, 'BRL_ERR_AGENT_BUSY') ||
          isBorealisError(err, 'BRL_ERR_RELAY_OVERLOADED');
        if (!waitable || Date.now() + delay >= deadline) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async function viaAgent(id: string, req: MetricRequest, opts: SendOptions): Promise<MetricAnswer> {
    try {
      const res = await dispatchPatiently(id, req, opts);
      const body = await readCapped(res.body, opts.displayUrl);
      const ct = res.headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
      return {
        status: res.status,
        contentType: ct,
        body,
        agent: { agentIdentifier: res.agent.agentIdentifier, instanceId: res.agent.instanceId },
      };
    } catch (err) {
      if (isBorealisError(err, 'BRL_ERR_METRIC_NOT_A_NUMBER')) throw err;
      const inner = isBorealisError(err) ? err.message : String(err);
      const timeout =
        isBorealisError(err, 'BRL_ERR_DISPATCH_TIMEOUT') ||
        isBorealisError(err, 'BRL_ERR_DISPATCH_CANCELLED');
      const verb = isBorealisError(err, 'BRL_ERR_AGENT_REFUSED') ? 'was refused calling' : 'could not reach';
      throw new BorealisError(
        timeout ? 'BRL_ERR_METRIC_TIMEOUT' : 'BRL_ERR_METRIC_UNREACHABLE',
        `${verb} ${opts.displayUrl} through agent "${id}": ${inner}`,
        {
          cause: err,
          details: { agentIdentifier: id, ...(isBorealisError(err) ? { cause: err.code } : {}) },
        },
      );
    }
  }

  return {
    send(req: MetricRequest, opts: SendOptions): Promise<MetricAnswer> {
      return opts.agentIdentifier === undefined
        ? direct(req, opts)
        : viaAgent(opts.agentIdentifier, req, opts);
    },
    // Idempotent: a control plane may be closed twice (tests, signal handlers).
    close: async () => {
      if (!agent.closed && !agent.destroyed) await agent.close();
    },
  };
}

async function readCapped(
  body: AsyncIterable<unknown> & { destroy?: () => void },
  displayUrl: string,
): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    length += buf.length;
    if (length > MAX_ANSWER_BYTES) {
      body.destroy?.();
      throw new BorealisError(
        'BRL_ERR_METRIC_NOT_A_NUMBER',
        `${displayUrl} answered more than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB: a judgment needs one number; aggregate the query, e.g. avg(...)`,
      );
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
