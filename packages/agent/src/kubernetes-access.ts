import type { Logger } from 'pino';
import type { KubernetesCredentials } from './kubernetes-credentials.js';
import { LogMessages } from './log-messages.js';

/** What the Borealis driver does in a namespace; the Role in deploy/kubernetes/ grants exactly this. */
export const REQUIRED_PERMISSIONS: ReadonlyArray<{
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
}> = [
  { verb: 'get', group: 'apps', resource: 'deployments' },
  { verb: 'list', group: 'apps', resource: 'deployments' },
  { verb: 'watch', group: 'apps', resource: 'deployments' },
  { verb: 'create', group: 'apps', resource: 'deployments' },
  { verb: 'patch', group: 'apps', resource: 'deployments' },
  { verb: 'delete', group: 'apps', resource: 'deployments' },
  { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale' },
  { verb: 'get', group: '', resource: 'services' },
  { verb: 'create', group: '', resource: 'services' },
  { verb: 'patch', group: '', resource: 'services' },
];

export interface NamespaceAccess {
  namespace: string;
  /** Permissions the agent lacks there, as `verb resource.group`; empty = it can act there. */
  missing: string[];
}

export interface KubernetesAccessReport {
  server: string;
  source: string;
  version?: string;
  /** How the namespaces were found: configured, listed, or the identity's own. */
  namespacesFrom: 'BOREALIS_KUBERNETES_NAMESPACES' | 'namespace list' | 'own namespace';
  namespaces: NamespaceAccess[];
  error?: string;
}

const describePermission = (p: (typeof REQUIRED_PERMISSIONS)[number]) =>
  `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}${p.group ? `.${p.group}` : ''}`;

async function call(
  k8s: KubernetesCredentials,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await k8s.dispatcher.request({
    origin: k8s.server.origin,
    path: `${k8s.server.pathname.replace(/\/+$/, '')}${path}`,
    method,
    headers: [
      ...k8s.authHeaders().flat(),
      'accept',
      'application/json',
      ...(body === undefined ? [] : ['content-type', 'application/json']),
    ],
    body: body === undefined ? null : JSON.stringify(body),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { message: text.slice(0, 200) };
  }
  return { status: res.statusCode, json };
}

/**
 * Finds out at start where the agent can act: the namespaces it was told to check, or every
 * namespace it may list, or its own; in each, a SelfSubjectAccessReview per permission the driver
 * needs. Never throws: an unreachable API server is part of the report.
 */
export async function checkKubernetesAccess(
  k8s: KubernetesCredentials,
  configured: readonly string[],
): Promise<KubernetesAccessReport> {
  const report: KubernetesAccessReport = {
    server: k8s.server.origin,
    source: k8s.source,
    namespacesFrom: 'BOREALIS_KUBERNETES_NAMESPACES',
    namespaces: [],
  };
  try {
    const version = await call(k8s, 'GET', '/version');
    if (version.status >= 400) {
      report.error = `GET /version answered ${version.status}: ${String(version.json.message ?? '')}`;
      return report;
    }
    report.version = String(version.json.gitVersion ?? 'unknown');
    let namespaces = [...configured];
    if (namespaces.length === 0) {
      const list = await call(k8s, 'GET', '/api/v1/namespaces');
      const items = (list.json.items as Array<{ metadata?: { name?: string } }> | undefined) ?? [];
      if (list.status === 200 && items.length > 0) {
        report.namespacesFrom = 'namespace list';
        namespaces = items.map((i) => i.metadata?.name ?? '').filter(Boolean);
      } else {
        report.namespacesFrom = 'own namespace';
        namespaces = [k8s.namespace ?? 'default'];
      }
    }
    for (const namespace of namespaces) {
      const missing: string[] = [];
      for (const p of REQUIRED_PERMISSIONS) {
        const review = await call(k8s, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              namespace,
              verb: p.verb,
              group: p.group,
              resource: p.resource,
              ...(p.subresource ? { subresource: p.subresource } : {}),
            },
          },
        });
        const allowed = (review.json.status as { allowed?: boolean } | undefined)?.allowed === true;
        if (!allowed) missing.push(describePermission(p));
      }
      report.namespaces.push({ namespace, missing });
    }
  } catch (err) {
    report.error = `${k8s.server.origin} could not be reached: ${(err as Error).message}`;
  }
  return report;
}

/** One line people read at start: where the agent can deploy, where it cannot and why. */
export function logKubernetesAccess(logger: Logger, report: KubernetesAccessReport): void {
  const can = report.namespaces.filter((n) => n.missing.length === 0).map((n) => n.namespace);
  const cannot = Object.fromEntries(
    report.namespaces.filter((n) => n.missing.length > 0).map((n) => [n.namespace, n.missing.join(', ')]),
  );
  const fields = {
    server: report.server,
    source: report.source,
    kubernetesVersion: report.version,
    namespacesFrom: report.namespacesFrom,
    canActIn: can,
    cannotActIn: cannot,
  };
  if (report.error) {
    logger.error(
      {
        ...fields,
        error: report.error,
        hint: 'the API server did not answer; deployments through this agent fail until it does (check BOREALIS_KUBERNETES and network policies)',
      },
      LogMessages.kubernetesAccess,
    );
    return;
  }
  if (Object.keys(cannot).length > 0) {
    logger.warn(
      {
        ...fields,
        hint: `bind the Role in deploy/kubernetes/rbac.yaml to this agent's service account in each namespace it deploys to${can.length === 0 ? ' (it can deploy nowhere now)' : ''}`,
      },
      LogMessages.kubernetesAccess,
    );
    return;
  }
  logger.info(fields, LogMessages.kubernetesAccess);
}
