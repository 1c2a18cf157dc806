import { type ApiCall, applyCall, FIELD_MANAGER, type KubeObject } from '@borealis/deploy-spec';
import { KUBERNETES_API_HOST } from '@borealis/protocol';
import { BorealisError } from '../errors.js';
import type { Dispatcher } from '../relay/index.js';

export { type ApiCall, applyCall };

/**
 * The Kubernetes API as the driver uses it, in plain REST through the agent's tunnel: every call
 * is `relay.dispatch(account, ...)` to the virtual host the agent maps to its API server with its
 * own credentials. (A client library such as @kubernetes/client-node wants a kubeconfig and opens
 * its own connections to the API server — exactly what the control plane must not have.)
 */
export interface KubernetesApi {
  get(path: string, signal?: AbortSignal): Promise<KubeObject | undefined>;
  list(path: string, labelSelector: string, signal?: AbortSignal): Promise<KubeObject[]>;
  /** Server-side apply with the `borealis` field manager. */
  apply(
    path: string,
    object: KubeObject,
    options?: { force?: boolean; signal?: AbortSignal },
  ): Promise<KubeObject>;
  /** Sets spec.replicas through the scale subresource (no other field changes hands). */
  scale(path: string, replicas: number, signal?: AbortSignal): Promise<void>;
  /** Deletes; an object already gone is fine. */
  delete(path: string, signal?: AbortSignal): Promise<void>;
  /**
   * Watches one object until `onEvent` returns true, the stream ends (`timeoutSeconds`), or the
   * signal aborts. Returns the last resourceVersion seen.
   */
  watch(
    collection: string,
    name: string,
    resourceVersion: string,
    timeoutSeconds: number,
    onEvent: (type: string, object: KubeObject) => boolean,
    signal?: AbortSignal,
  ): Promise<{ resourceVersion: string; stopped: boolean; expired: boolean }>;
}

/** What went wrong in a call, in the API's words (its `Status`), plus what to do about it. */
export class KubernetesApiError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'KubernetesApiError';
  }
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** The URL a call travels to through the tunnel. */
export function callUrl(call: Pick<ApiCall, 'path' | 'query'>): string {
  const q = call.query && Object.keys(call.query).length ? `?${new URLSearchParams(call.query)}` : '';
  return `https://${KUBERNETES_API_HOST}${call.path}${q}`;
}

export function createKubernetesApi(
  dispatcher: Dispatcher,
  account: string,
  timeoutMs = 30_000,
): KubernetesApi {
  async function send(call: ApiCall, signal?: AbortSignal, callTimeoutMs = timeoutMs) {
    let res: Awaited<ReturnType<Dispatcher['dispatch']>>;
    try {
      res = await dispatcher.dispatch(account, {
        method: call.method,
        url: callUrl(call),
        headers: [
          ['accept', 'application/json'],
          ...(call.body
            ? ([['content-type', call.contentType ?? 'application/json']] as [string, string][])
            : []),
        ],
        ...(call.body ? { body: Buffer.from(JSON.stringify(call.body)) } : {}),
        timeoutMs: callTimeoutMs,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw tunnelError(err, account, call);
    }
    return res;
  }

  async function json(call: ApiCall, signal?: AbortSignal): Promise<{ status: number; body: KubeObject }> {
    const res = await send(call, signal);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(Buffer.from(c as Uint8Array));
    const text = Buffer.concat(chunks).toString('utf8');
    let body: KubeObject = {};
    try {
      body = text ? (JSON.parse(text) as KubeObject) : {};
    } catch {
      body = { message: text.slice(0, 500) };
    }
    return { status: res.status, body };
  }

  async function ok(call: ApiCall, signal?: AbortSignal, allow404 = false): Promise<KubeObject | undefined> {
    const { status, body } = await json(call, signal);
    if (status >= 200 && status < 300) return body;
    if (status === 404 && allow404) return undefined;
    throw statusError(status, body, call);
  }

  return {
    get: (path, signal) => ok({ method: 'GET', path }, signal, true),
    async list(path, labelSelector, signal) {
      const body = await ok({ method: 'GET', path, query: { labelSelector } }, signal);
      return (body?.items as KubeObject[] | undefined) ?? [];
    },
    async apply(path, object, options = {}) {
      return (await ok(applyCall(path, object, options.force), options.signal)) as KubeObject;
    },
    async scale(path, replicas, signal) {
      await ok(
        {
          method: 'PATCH',
          path: `${path}/scale`,
          query: { fieldManager: FIELD_MANAGER },
          contentType: 'application/merge-patch+json',
          body: { spec: { replicas } },
        },
        signal,
      );
    },
    async delete(path, signal) {
      await ok({ method: 'DELETE', path }, signal, true);
    },
    async watch(collection, name, resourceVersion, timeoutSeconds, onEvent, signal) {
      const call: ApiCall = {
        method: 'GET',
        path: collection,
        query: {
          watch: '1',
          fieldSelector: `metadata.name=${name}`,
          resourceVersion,
          timeoutSeconds: String(timeoutSeconds),
        },
      };
      const res = await send(call, signal, (timeoutSeconds + 30) * 1000);
      if (res.status < 200 || res.status >= 300) {
        const chunks: Buffer[] = [];
        for await (const c of res.body) chunks.push(Buffer.from(c as Uint8Array));
        let body: KubeObject = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeObject;
        } catch {}
        throw statusError(res.status, body, call);
      }
      let rv = resourceVersion;
      let carry = '';
      try {
        for await (const chunk of res.body) {
          carry += Buffer.from(chunk as Uint8Array).toString('utf8');
          let nl = carry.indexOf('\n');
          while (nl >= 0) {
            const line = carry.slice(0, nl).trim();
            carry = carry.slice(nl + 1);
            nl = carry.indexOf('\n');
            if (!line) continue;
            const event = JSON.parse(line) as { type: string; object: KubeObject };
            if (event.type === 'ERROR') {
              if (event.object?.code === 410) {
                res.body.destroy();
                return { resourceVersion: rv, stopped: false, expired: true };
              }
              throw statusError(Number(event.object?.code ?? 500), event.object ?? {}, call);
            }
            rv = String(event.object?.metadata?.resourceVersion ?? rv);
            if (onEvent(event.type, event.object)) {
              res.body.destroy();
              return { resourceVersion: rv, stopped: true, expired: false };
            }
          }
        }
      } catch (err) {
        if (err instanceof KubernetesApiError) throw err;
        if (signal?.aborted) throw err;
        // The stream broke (the agent went away): the caller re-reads and watches again.
        return { resourceVersion: rv, stopped: false, expired: false };
      }
      return { resourceVersion: rv, stopped: false, expired: false };
    },
  };
}

/** The API's `Status`, with the request it answered and what a person can do about it. */
export function statusError(code: number, body: KubeObject, call: ApiCall): KubernetesApiError {
  const reason = String(body?.reason ?? (code === 404 ? 'NotFound' : 'Unknown'));
  const apiMessage = String(body?.message ?? `HTTP ${code}`);
  const what = `${call.method === 'PATCH' && call.contentType === 'application/apply-patch+yaml' ? 'apply' : call.method} ${call.path}`;
  const advice = adviceFor(code, reason, apiMessage, call);
  return new KubernetesApiError(
    `${what}: ${code} ${reason}: ${apiMessage}${advice ? ` — ${advice}` : ''}`,
    code,
    reason,
    RETRYABLE_STATUS.has(code) || (code === 409 && /has been modified/.test(apiMessage)),
  );
}

function adviceFor(code: number, reason: string, apiMessage: string, call: ApiCall): string {
  const ns = /\/namespaces\/([^/]+)\//.exec(call.path)?.[1];
  switch (reason) {
    case 'Forbidden':
      return `the agent's identity lacks this permission${ns ? ` in namespace ${ns}` : ''}: bind the Role in deploy/kubernetes/rbac.yaml to its service account there (kubectl apply -n ${ns ?? 'NAMESPACE'} -f deploy/kubernetes/rbac.yaml), then start the deployment again`;
    case 'Unauthorized':
      return "the API server did not accept the agent's credentials: check BOREALIS_KUBERNETES on the agent (an expired token?)";
    case 'Invalid':
      return 'fix the manifest; `borealis deploy plan -f FILE` prints what Borealis sends, and `kubectl apply --dry-run=server -f -` checks it against the cluster';
    case 'Conflict':
      return /Apply failed/.test(apiMessage)
        ? 'another field manager (kubectl edit, an autoscaler, another tool) owns these fields: stop managing them there, or remove them from the manifest; Borealis applies with field manager "borealis" and does not take fields over by force'
        : 'the object changed while Borealis updated it; starting the deployment again retries with the current version';
    case 'NotFound':
      return ns
        ? `does namespace ${ns} exist, and is the resource's API (${call.path.split('/namespaces/')[0]}) installed in the cluster?`
        : '';
    case 'AlreadyExists':
      return 'remove the existing object or give the manifest another name';
    case 'UnsupportedMediaType':
      return 'the API server does not support server-side apply here (Kubernetes 1.22 or later is needed)';
    default:
      return code >= 500 ? 'the API server failed; Borealis tries again until the rollout times out' : '';
  }
}

/** A call that never reached the API server (no agent, agent refused, tunnel broke). */
function tunnelError(err: unknown, account: string, call: ApiCall): KubernetesApiError {
  const code = err instanceof BorealisError ? err.code : 'BRL_ERR_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'BRL_ERR_AGENT_REFUSED')
    return new KubernetesApiError(
      `agent ${account} refused ${call.method} ${call.path}: ${message}`,
      502,
      'AgentRefused',
      false,
    );
  if (code === 'BRL_ERR_AGENT_NOT_CONNECTED')
    return new KubernetesApiError(
      `no agent ${account} is connected (the target's account names the agent in the cluster): start it there with BOREALIS_KUBERNETES=in-cluster; Borealis keeps trying until the rollout times out`,
      503,
      'AgentNotConnected',
      true,
    );
  if (code === 'BRL_ERR_DISPATCH_CANCELLED')
    return new KubernetesApiError(`${call.method} ${call.path} was cancelled`, 499, 'Cancelled', false);
  return new KubernetesApiError(
    `${call.method} ${call.path} through agent ${account} failed: ${message}`,
    502,
    code,
    true,
  );
}
