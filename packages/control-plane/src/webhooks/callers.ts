import { KUBERNETES_API_HOST } from '@borealis/protocol';
import { Agent, request as undiciRequest } from 'undici';
import { BorealisError, type ErrorCode, isBorealisError } from '../errors.js';
import type { Dispatcher } from '../relay/index.js';
import { describeNetworkError, errorCode } from './network-errors.js';
import { guardedConnector, type LookupAll, type SsrfGuard } from './ssrf-guard.js';

/** One outgoing webhook call, as sent (secrets in place). */
export interface OutgoingCall {
  method: string;
  url: string;
  /** The path as the agent may log it: no query, secret-rendered parts masked. */
  logUrl?: string;
  headers: Array<[string, string]>;
  body?: string;
}

/** The endpoint answered; what a run needs of the answer. */
export interface EndpointAnswer {
  status: number;
  /** The answer's headers as they came (names lower-case), for people debugging the run. */
  headers: Array<[string, string]>;
  retryAfter?: string;
  /** The first bytes of the body, for the reason of a failed run. */
  bodyStart: string;
  agent?: { agentIdentifier: string; instanceId: string; sessionId: string };
}

export interface CallOptions {
  /** The URL as people may see it (secrets masked), for messages. */
  displayUrl: string;
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * One way to make a webhook call: directly (`createDirectCaller`) or through an agent
 * (`agentCaller`). Both answer with what the endpoint said, or throw a BorealisError whose
 * `retryable` says whether the call could not be made (retry) or was refused (final).
 */
export interface Caller {
  call(call: OutgoingCall, opts: CallOptions): Promise<EndpointAnswer>;
}

/** Enough of the answer's body to explain a failure; the rest is not read. */
const BODY_START_BYTES = 1024;

/** `direct` calls: undici with the SSRF guard in its connector; close() ends its sockets. */
export function createDirectCaller(
  guard: SsrfGuard,
  options: { lookup?: LookupAll; connectTimeoutMs?: number } = {},
): Caller & { close(): Promise<void> } {
  const agent = new Agent({
    connect: guardedConnector(guard, options),
    // Webhook endpoints are called rarely; do not keep sockets to them open.
    keepAliveTimeout: 1_000,
  });
  return {
    async call(call: OutgoingCall, opts: CallOptions): Promise<EndpointAnswer> {
      try {
        const res = await undiciRequest(call.url, {
          dispatcher: agent,
          method: call.method as 'POST',
          headers: call.headers.flat(),
          body: call.body ?? null,
          signal: opts.signal,
          headersTimeout: opts.timeoutMs,
          bodyTimeout: opts.timeoutMs,
        });
        const retryAfter = res.headers['retry-after'];
        const bodyStart = await readStart(res.body, BODY_START_BYTES);
        const headers: Array<[string, string]> = [];
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) headers.push([k.toLowerCase(), String(one)]);
        }
        return {
          status: res.statusCode,
          headers,
          bodyStart,
          ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
        };
      } catch (err) {
        throw classifyDirectError(err, opts);
      }
    },
    close: () => agent.close(),
  };
}

/** `remoteNetworkAgent` calls: through the relay to a connected agent of `agentIdentifier`. */
export function agentCaller(dispatcher: Dispatcher, agentIdentifier: string): Caller {
  return {
    async call(call: OutgoingCall, opts: CallOptions): Promise<EndpointAnswer> {
      try {
        if (isKubernetesVirtualHost(call.url)) {
          // Only the Kubernetes driver addresses the cluster's API, with the agent's credentials.
          throw new BorealisError(
            'BRL_ERR_AGENT_REFUSED',
            `${KUBERNETES_API_HOST} is reserved for the Kubernetes driver; a webhook cannot call it`,
          );
        }
        const res = await dispatcher.dispatch(agentIdentifier, {
          method: call.method,
          url: call.url,
          headers: call.headers,
          ...(call.body === undefined ? {} : { body: Buffer.from(call.body, 'utf8') }),
          timeoutMs: opts.timeoutMs,
          signal: opts.signal,
          ...(call.logUrl === undefined ? {} : { logUrl: call.logUrl }),
        });
        const retryAfter = res.headers.find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
        const bodyStart = await readStart(res.body, BODY_START_BYTES);
        return {
          status: res.status,
          headers: res.headers.map(([k, v]) => [k.toLowerCase(), v] as [string, string]),
          bodyStart,
          agent: res.agent,
          ...(retryAfter === undefined ? {} : { retryAfter }),
        };
      } catch (err) {
        throw classifyAgentError(err, agentIdentifier, opts);
      }
    },
  };
}

async function readStart(body: AsyncIterable<unknown>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(buf);
      length += buf.length;
      // Leaving the loop destroys the stream: the rest of a large answer is never read.
      if (length >= max) break;
    }
  } catch {
    // A body cut short still tells its start; the status is what decides.
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** TLS problems are configuration, not weather: retrying will not fix a bad certificate. */
const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/;

function classifyDirectError(err: unknown, opts: CallOptions): BorealisError {
  if (isBorealisError(err)) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (opts.signal.aborted) {
    return new BorealisError('BRL_ERR_WEBHOOK_CANCELLED', `The call to ${opts.displayUrl} was stopped`, {
      cause: err,
    });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return webhookError(
      'BRL_ERR_WEBHOOK_TIMEOUT',
      `${opts.displayUrl} did not answer within ${opts.timeoutMs} ms`,
      err,
      true,
      code,
    );
  }
  if (code !== undefined && TLS_ERROR.test(code)) {
    return webhookError(
      'BRL_ERR_WEBHOOK_UNREACHABLE',
      `could not reach ${opts.displayUrl}: TLS: ${message} (${code})`,
      err,
      false,
      code,
    );
  }
  // A request undici refuses to send is not retried; a network failure is.
  const unsendable =
    code?.startsWith('UND_ERR_INVALID') || code === 'UND_ERR_NOT_SUPPORTED' || err instanceof TypeError;
  const why = unsendable
    ? `could not call ${opts.displayUrl}: ${message}`
    : `could not reach ${opts.displayUrl}: ${describeNetworkError(code, message)}`;
  return webhookError('BRL_ERR_WEBHOOK_UNREACHABLE', why, err, !unsendable, code);
}

function classifyAgentError(err: unknown, agentIdentifier: string, opts: CallOptions): BorealisError {
  if (!isBorealisError(err)) {
    return webhookError(
      'BRL_ERR_WEBHOOK_UNREACHABLE',
      `could not reach ${opts.displayUrl} through agent "${agentIdentifier}": ${String(err)}`,
      err,
      true,
    );
  }
  if (err.code === 'BRL_ERR_DISPATCH_CANCELLED' || opts.signal.aborted) {
    return new BorealisError('BRL_ERR_WEBHOOK_CANCELLED', `The call to ${opts.displayUrl} was stopped`, {
      cause: err,
    });
  }
  // An agent that disconnected mid-call leaves the outcome unknown: the call is made again with
  // the same webhook-id, and receivers de-duplicate on it. A refusal by the agent's allow-list is
  // a decision, not weather.
  const retryable =
    err.code === 'BRL_ERR_AGENT_DISCONNECTED' || err.code === 'BRL_ERR_DISPATCH_TIMEOUT' || err.retryable;
  const verb = err.code === 'BRL_ERR_AGENT_REFUSED' ? 'was refused calling' : 'could not reach';
  return new BorealisError(
    err.code,
    `${verb} ${opts.displayUrl} through agent "${agentIdentifier}": ${err.message}`,
    {
      cause: err,
      retryable,
      details: { ...(err.details ?? {}) },
    },
  );
}

function webhookError(
  code: ErrorCode,
  message: string,
  cause: unknown,
  retryable: boolean,
  low?: string,
): BorealisError {
  return new BorealisError(code, message, {
    cause,
    retryable,
    ...(low === undefined ? {} : { details: { cause: low } }),
  });
}

function isKubernetesVirtualHost(url: string): boolean {
  try {
    return new URL(url).hostname.toLowerCase() === KUBERNETES_API_HOST;
  } catch {
    return false;
  }
}
