import { Readable } from 'node:stream';
import { KUBERNETES_API_HOST, ProtocolError, type RequestHead, type TunnelStream } from '@borealis/protocol';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { AllowList } from './allow-list.js';
import { call } from './call-handler.js';
import { declaresBody, requestHeaders, responseHeaders } from './call-headers.js';
import { DestinationRefusedError } from './guarded-connector.js';
import type { KubernetesCredentials } from './kubernetes-credentials.js';
import { type AgentMetrics, Outcome, type OutcomeName } from './metrics.js';

/**
 * Performs the control plane's HTTP calls. Every stream is authorised on its own (not only the
 * handshake): the allow-list is checked before a single byte goes to the destination, and again
 * on the resolved address by the guarded connector inside the dispatcher.
 */
export interface ExecutorOptions {
  allowList: AllowList;
  /** An undici dispatcher whose connector enforces the allow-list on resolved addresses. */
  dispatcher: Dispatcher;
  metrics: AgentMetrics;
  logger: Logger;
  /**
   * Set when the agent speaks for its cluster (BOREALIS_KUBERNETES): calls to the virtual host
   * KUBERNETES_API_HOST go to this API server with these credentials. Every other destination
   * still goes through the allow-list.
   */
  kubernetes?: KubernetesCredentials;
}

/** What the control plane may reach on the API server: the API itself, nothing else it serves. */
const KUBERNETES_PATHS = /^\/(version|api|apis)(\/|$)/;
/** Never forwarded to the API server: the agent's own credentials are the only ones that count. */
const KUBERNETES_DROPPED = /^(authorization|cookie|proxy-authorization|impersonate-.*)$/i;

const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export type StreamHandler = (stream: TunnelStream, head: RequestHead) => void;

export function createExecutor(options: ExecutorOptions): StreamHandler {
  return (stream, head) => {
    options.metrics.streamsInFlight++;
    execute(options, stream, head)
      .then((outcome) => options.metrics.countRequest(outcome))
      .catch((err: unknown) => {
        // execute() maps every failure to a reset; reaching here is a bug, but must not crash.
        options.logger.error({ err, stream: stream.id }, 'stream handler failed');
        stream.reset(new ProtocolError('BRL_STREAM_INTERNAL', 'The agent failed while handling the stream'));
        options.metrics.countRequest(Outcome.upstreamError);
      })
      .finally(() => {
        options.metrics.streamsInFlight--;
      });
  };
}

async function execute(
  options: ExecutorOptions,
  stream: TunnelStream,
  head: RequestHead,
): Promise<OutcomeName> {
  let url: URL;
  try {
    url = new URL(head.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    stream.reset(
      new ProtocolError(
        'BRL_STREAM_BAD_REQUEST',
        'The URL must be absolute http:// or https:// (it was not)',
      ),
    );
    options.logger.warn({ stream: stream.id, method: head.method }, 'bad request: not an http(s) URL');
    return Outcome.badRequest;
  }
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  // Host and path only: query strings often carry tokens. The control plane sends the URL with
  // its secret-rendered parts masked (`logUrl`); without it (an older control plane) host and
  // path are logged as they are.
  let shownOnce: ReturnType<typeof shownTarget> | undefined;
  const shown = () => {
    shownOnce ??= shownTarget(head.logUrl, url);
    return shownOnce;
  };
  const log = new CallLog(options.logger, () => ({
    stream: stream.id,
    method: head.method,
    host: shown().host,
    path: shown().path,
  }));

  let origin = url.origin;
  let path = `${url.pathname}${url.search}`;
  let dispatcher = options.dispatcher;
  let headers = requestHeaders(head.headers);
  if (url.hostname === KUBERNETES_API_HOST) {
    const k8s = options.kubernetes;
    const refusal = !k8s
      ? `This agent does not speak for a Kubernetes cluster: start it with BOREALIS_KUBERNETES=in-cluster (in a pod) or BOREALIS_KUBERNETES=kubeconfig:PATH`
      : !KUBERNETES_PATHS.test(url.pathname) || url.pathname.includes('/../')
        ? `Only the Kubernetes API (/api, /apis, /version) is reachable through ${KUBERNETES_API_HOST}; ${url.pathname.slice(0, 100)} is not`
        : undefined;
    if (refusal || !k8s) {
      log.warn({ reason: refusal }, 'destination refused');
      stream.reset(new ProtocolError('BRL_STREAM_DESTINATION_REFUSED', refusal ?? 'refused'));
      return Outcome.refused;
    }
    origin = k8s.server.origin;
    path = `${k8s.server.pathname.replace(/\/+$/, '')}${url.pathname}${url.search}`;
    dispatcher = k8s.dispatcher;
    headers = requestHeaders(head.headers.filter(([name]) => !KUBERNETES_DROPPED.test(name)));
    for (const [name, value] of k8s.authHeaders()) headers.push(name, value);
  } else {
    const decision = options.allowList.checkDestination(url.hostname, port);
    if (!decision.allowed) {
      log.warn({ reason: shown().hide(decision.reason) }, 'destination refused');
      stream.reset(new ProtocolError('BRL_STREAM_DESTINATION_REFUSED', decision.reason));
      return Outcome.refused;
    }
  }

  // The call ends when the stream fails (the control plane cancelled, the tunnel went away) or
  // at its own timeout, whichever comes first.
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const watch = (abort: (reason: Error) => void) => {
    const unwatch = stream.whenFailed(abort);
    if (head.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        abort(new Error('timeout'));
      }, head.timeoutMs);
    }
    return unwatch;
  };

  const method = head.method.toUpperCase();
  // GET and HEAD carry a body only when the caller said so; otherwise undici would send a chunked
  // GET, which many servers reject. The (empty) tunnel body is still consumed.
  const hasBody = !(method === 'GET' || method === 'HEAD') || declaresBody(head.headers);
  if (!hasBody && stream.takeWholeBody() === undefined) stream.body.resume();

  const started = Date.now();
  let responded = false;
  let bytes = 0;
  try {
    const res = await call(
      dispatcher,
      {
        origin,
        path,
        method: head.method,
        headers,
        // Through an iterator that does not destroy the tunnel body when undici stops reading:
        // undici discards its body source once the response is complete, and a destroyed tunnel
        // body would reset the stream before the answer is sent.
        // A v2 CALL brings a small body whole: handed over as bytes, not as a stream.
        body: hasBody ? (stream.takeWholeBody() ?? detachedBody(stream)) : null,
        ...(head.timeoutMs > 0 ? { headersTimeout: head.timeoutMs, bodyTimeout: head.timeoutMs } : {}),
      },
      watch,
      // v2: an answer of declared length within the inline limit is read whole, and goes as one
      // frame, head, body and end.
      (status, answer) => smallBody(method, status, answer, stream.inlineLimit),
    );
    const answerHeaders = responseHeaders(res.headers);
    if (res.whole !== undefined) {
      responded = true;
      await stream.respondWhole(res.status, answerHeaders, res.whole);
      bytes = res.whole.byteLength;
    } else {
      stream.respond(res.status, answerHeaders);
      responded = true;
      for await (const chunk of res.body!) {
        await stream.write(chunk as Buffer);
        bytes += (chunk as Buffer).byteLength;
      }
      stream.end();
    }
    if (!stream.ended) {
      // The destination answered without reading everything: tell the control plane to stop
      // sending a body nobody will read, rather than crediting it forever.
      stream.reset(
        new ProtocolError(
          'BRL_STREAM_CANCELLED',
          'The destination answered before reading the whole request body',
        ),
      );
    }
    log.info({ status: res.status, bytes, ms: Date.now() - started }, 'request done');
    return Outcome.ok;
  } catch (err) {
    return fail(stream, log, err, {
      timedOut,
      responded,
      url,
      port,
      timeoutMs: head.timeoutMs,
      options,
      hide: (text) => shown().hide(text),
    });
  } finally {
    clearTimeout(timer);
  }
}

function fail(
  stream: TunnelStream,
  log: CallLog,
  err: unknown,
  ctx: {
    timedOut: boolean;
    responded: boolean;
    url: URL;
    port: number;
    timeoutMs: number;
    options: ExecutorOptions;
    /** Masks what the control plane marked secret in the host, in what is logged. */
    hide: (text: string) => string;
  },
): OutcomeName {
  const code = (err as { code?: unknown })?.code;
  const detail = err instanceof Error ? err.message : String(err);
  const target = `${ctx.url.hostname}:${ctx.port}`;
  const reason = stream.failedWith;
  if (reason && !ctx.timedOut) {
    // The control plane cancelled, or the tunnel went away: the stream is already over.
    const disconnected = reason?.code === 'BRL_STREAM_DISCONNECTED';
    log.info({ reason: reason?.code }, disconnected ? 'stream lost with the tunnel' : 'stream cancelled');
    return disconnected ? Outcome.disconnected : Outcome.cancelled;
  }
  if (err instanceof DestinationRefusedError) {
    log.warn({ reason: ctx.hide(err.message) }, 'destination refused');
    stream.reset(new ProtocolError('BRL_STREAM_DESTINATION_REFUSED', err.message));
    return Outcome.refused;
  }
  if (ctx.timedOut || (typeof code === 'string' && TIMEOUT_CODES.has(code))) {
    log.warn({ code, ms: ctx.timeoutMs }, 'request timed out');
    stream.reset(
      new ProtocolError(
        'BRL_STREAM_TIMEOUT',
        `${target} did not answer within ${ctx.timeoutMs} ms (${code ?? 'timeout'})`,
      ),
    );
    return Outcome.timeout;
  }
  if (code === 'UND_ERR_INVALID_ARG' && !ctx.responded) {
    log.warn({ code, detail: ctx.hide(detail) }, 'bad request');
    stream.reset(new ProtocolError('BRL_STREAM_BAD_REQUEST', `The request is not valid: ${detail}`));
    return Outcome.badRequest;
  }
  if (!ctx.responded && typeof code === 'string' && CONNECT_ERROR_CODES.has(code)) {
    log.warn({ code }, 'connect failed');
    stream.reset(
      new ProtocolError('BRL_STREAM_CONNECT_FAILED', `Could not connect to ${target}: ${code} ${detail}`),
    );
    return Outcome.connectFailed;
  }
  log.warn({ code, detail: ctx.hide(detail), responded: ctx.responded }, 'destination failed');
  stream.reset(
    new ProtocolError(
      'BRL_STREAM_UPSTREAM_ERROR',
      `${target} failed ${ctx.responded ? 'while sending the body' : 'before answering'}: ${code ?? ''} ${detail}`.trim(),
    ),
  );
  return Outcome.upstreamError;
}

/**
 * The call's log lines: the parent logger's, with the call's fields (stream, method, host, path)
 * first in each, as a pino `child()` would put them. A child per call showed in `--cpu-prof`
 * of the agent; at levels where a call logs nothing, the fields are not even worked out.
 */
class CallLog {
  private fields: Record<string, unknown> | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: () => Record<string, unknown>,
  ) {}

  info(obj: Record<string, unknown>, msg: string): void {
    this.line('info', obj, msg);
  }

  warn(obj: Record<string, unknown>, msg: string): void {
    this.line('warn', obj, msg);
  }

  private line(level: 'info' | 'warn', obj: Record<string, unknown>, msg: string): void {
    if (!this.parent.isLevelEnabled(level)) return;
    this.fields ??= this.bindings();
    this.parent[level]({ ...this.fields, ...obj }, msg);
  }
}

/**
 * What to log of the target: host and path from the control plane's `logUrl` (never its query,
 * should it carry one), or the URL's own when there is none. When the masked host differs from
 * the real one, `hide` replaces the real host name in messages that are logged.
 */
function shownTarget(
  logUrl: string | undefined,
  url: URL,
): { host: string; path: string; hide: (t: string) => string } {
  if (logUrl === undefined) return { host: url.host, path: url.pathname, hide: (t) => t };
  let shown: URL | undefined;
  try {
    shown = new URL(logUrl);
  } catch {
    shown = undefined;
  }
  const hostname = shown?.hostname ?? '****';
  return {
    host: shown?.host ?? '****',
    path: shown?.pathname ?? '/****',
    hide: hostname === url.hostname ? (t) => t : (t) => t.split(url.hostname).join(hostname),
  };
}

/** The declared length of an answer that fits in one frame (`limit`; 0 on v1), else undefined. */
function smallBody(
  method: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  limit: number,
): number | undefined {
  if (limit === 0) return undefined;
  if (method === 'HEAD' || status === 204 || status === 304) return 0;
  const declared = headers['content-length'];
  const n = typeof declared === 'string' ? Number(declared) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 && n <= limit ? n : undefined;
}

function detachedBody(stream: TunnelStream): Readable {
  const chunks = stream.body.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
  return Readable.from(chunks, { objectMode: false });
}
