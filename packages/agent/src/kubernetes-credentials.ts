import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Agent as UndiciAgent } from './undici.js';

/**
 * yaml (about 3 MiB of RSS once loaded) is needed only to read a kubeconfig: it is loaded then,
 * not at start by every agent (most have no BOREALIS_KUBERNETES).
 */
const parseYaml = (text: string): unknown =>
  (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

/**
 * How the agent speaks for the cluster it runs in (`BOREALIS_KUBERNETES`): the API server's
 * address, the CA it trusts and the credentials it adds to every call. These stay in the agent;
 * the control plane addresses the API through the virtual host and never sees them.
 */
export interface KubernetesCredentials {
  /** Where the setting came from, for logs: `in-cluster` or `kubeconfig:/path (context x)`. */
  source: string;
  /** The API server, e.g. https://10.96.0.1:443 (a path prefix is kept). */
  server: URL;
  /** The namespace this identity belongs to (service account's, or the kubeconfig context's). */
  namespace: string | undefined;
  /** A dispatcher that trusts the cluster's CA and presents a client certificate if configured. */
  dispatcher: UndiciAgent;
  /** Headers that authenticate a call (a bearer token read fresh: projected tokens rotate). */
  authHeaders(): Array<[string, string]>;
  close(): Promise<void>;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A problem with `BOREALIS_KUBERNETES`, with the fix in the message. */
export class KubernetesSettingError extends Error {}

export interface KubernetesSettingInput {
  /** `in-cluster` or `kubeconfig:PATH`. */
  setting: string;
  /** KUBERNETES_SERVICE_HOST / _PORT (in-cluster). */
  env: { KUBERNETES_SERVICE_HOST?: string | undefined; KUBERNETES_SERVICE_PORT?: string | undefined };
  /** Tests: where the service account's files are. */
  serviceAccountDir?: string;
}

export function loadKubernetesCredentials(input: KubernetesSettingInput): KubernetesCredentials {
  const setting = input.setting.trim();
  if (setting === 'in-cluster') return inCluster(input);
  if (setting.startsWith('kubeconfig:')) {
    const path = setting.slice('kubeconfig:'.length).trim();
    if (!path)
      throw new KubernetesSettingError(
        'kubeconfig: needs a path, e.g. BOREALIS_KUBERNETES=kubeconfig:/home/me/.kube/config',
      );
    return fromKubeconfig(path);
  }
  throw new KubernetesSettingError(
    `must be "in-cluster" (in a pod, with its service account) or "kubeconfig:PATH"; got "${setting.slice(0, 80)}"`,
  );
}

function inCluster(input: KubernetesSettingInput): KubernetesCredentials {
  const dir = input.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = input.env.KUBERNETES_SERVICE_HOST?.trim();
  const port = input.env.KUBERNETES_SERVICE_PORT?.trim() || '443';
  if (!host) {
    throw new KubernetesSettingError(
      'is "in-cluster" but KUBERNETES_SERVICE_HOST is not set: the agent is not running in a pod (run it as the Deployment in deploy/kubernetes/, or use kubeconfig:PATH outside a cluster)',
    );
  }
  const tokenFile = `${dir}/token`;
  const ca = readRequired(`${dir}/ca.crt`, 'the service account CA (is automountServiceAccountToken off?)');
  readRequired(tokenFile, 'the service account token (is automountServiceAccountToken off?)');
  let namespace: string | undefined;
  try {
    namespace = readFileSync(`${dir}/namespace`, 'utf8').trim() || undefined;
  } catch {
    namespace = undefined;
  }
  const server = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const dispatcher = new UndiciAgent({ connect: { ca } });
  return {
    source: 'in-cluster',
    server,
    namespace,
    dispatcher,
    authHeaders: bearerFromFile(tokenFile),
    close: () => dispatcher.close(),
  };
}

/** Projected service-account tokens rotate: re-read at most once a minute. */
function bearerFromFile(file: string): () => Array<[string, string]> {
  let token = '';
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > 60_000) {
      try {
        token = readFileSync(file, 'utf8').trim();
        readAt = Date.now();
      } catch {
        // Keep the last token: a rotation in progress should not break a call.
      }
    }
    return token ? [['authorization', `Bearer ${token}`]] : [];
  };
}

function readRequired(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubernetesSettingError(`cannot read ${what} at ${file}: ${(err as Error).message}`);
  }
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

function fromKubeconfig(path: string): KubernetesCredentials {
  const text = readRequired(path, 'the kubeconfig');
  let doc: Record<string, unknown>;
  try {
    doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new KubernetesSettingError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  const base = dirname(resolve(path));
  const contextName = doc['current-context'];
  if (typeof contextName !== 'string' || !contextName)
    throw new KubernetesSettingError(
      `${path} has no current-context; set one with kubectl config use-context NAME`,
    );
  const find = (list: unknown, key: string, name: string, what: string): Record<string, unknown> => {
    const entry = (Array.isArray(list) ? (list as Named<unknown>[]) : []).find((e) => e?.name === name);
    const value = entry?.[key];
    if (!value || typeof value !== 'object')
      throw new KubernetesSettingError(
        `${path}: ${what} "${name}" (of context ${contextName}) is not defined`,
      );
    return value as Record<string, unknown>;
  };
  const context = find(doc.contexts, 'context', contextName, 'context');
  const cluster = find(doc.clusters, 'cluster', String(context.cluster ?? ''), 'cluster');
  const user = context.user ? find(doc.users, 'user', String(context.user), 'user') : {};
  const file = (value: unknown) => {
    const p = String(value);
    return readRequired(isAbsolute(p) ? p : resolve(base, p), `a file named in ${path}`);
  };
  const data = (value: unknown) => Buffer.from(String(value), 'base64').toString('utf8');

  let server: URL;
  try {
    server = new URL(String(cluster.server ?? ''));
    if (server.protocol !== 'https:' && server.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new KubernetesSettingError(
      `${path}: cluster ${String(context.cluster)} has no http(s) server URL (got ${JSON.stringify(cluster.server ?? null)})`,
    );
  }
  if (user.exec || user['auth-provider']) {
    throw new KubernetesSettingError(
      `${path}: user ${String(context.user)} authenticates with an exec plugin or auth-provider, which the agent does not run; give it a token (a service account's: kubectl create token borealis-agent) or a client certificate`,
    );
  }
  const ca = cluster['certificate-authority-data']
    ? data(cluster['certificate-authority-data'])
    : cluster['certificate-authority']
      ? file(cluster['certificate-authority'])
      : undefined;
  const cert = user['client-certificate-data']
    ? data(user['client-certificate-data'])
    : user['client-certificate']
      ? file(user['client-certificate'])
      : undefined;
  const key = user['client-key-data']
    ? data(user['client-key-data'])
    : user['client-key']
      ? file(user['client-key'])
      : undefined;
  const insecure = cluster['insecure-skip-tls-verify'] === true;
  const dispatcher = new UndiciAgent({
    connect: {
      ...(ca ? { ca } : {}),
      ...(cert && key ? { cert, key } : {}),
      ...(insecure ? { rejectUnauthorized: false } : {}),
      ...(typeof cluster['tls-server-name'] === 'string' ? { servername: cluster['tls-server-name'] } : {}),
    },
  });
  let authHeaders: () => Array<[string, string]> = () => [];
  if (typeof user.token === 'string' && user.token) {
    const token = user.token;
    authHeaders = () => [['authorization', `Bearer ${token}`]];
  } else if (typeof user.tokenFile === 'string' && user.tokenFile) {
    const p = user.tokenFile;
    authHeaders = bearerFromFile(isAbsolute(p) ? p : resolve(base, p));
  } else if (typeof user.username === 'string' && typeof user.password === 'string') {
    const basic = Buffer.from(`${user.username}:${user.password}`).toString('base64');
    authHeaders = () => [['authorization', `Basic ${basic}`]];
  }
  const namespace =
    typeof context.namespace === 'string' && context.namespace ? context.namespace : undefined;
  return {
    source: `kubeconfig:${path} (context ${contextName})`,
    server,
    namespace,
    dispatcher,
    authHeaders,
    close: () => dispatcher.close(),
  };
}
