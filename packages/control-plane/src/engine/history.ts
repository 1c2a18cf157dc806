import type { ApplicationHistory, DeploymentSpec, Revision } from '@borealis/deploy-spec';
import { parseAllDocuments } from 'yaml';
import { BorealisError } from '../errors.js';
import type { DeploymentHistoryRepository } from '../store/index.js';

export type { ApplicationHistory, Revision } from '@borealis/deploy-spec';

/**
 * What a deployment deploys, for people: the `version` context value when there is one (the
 * start's `--context version=…` over the file's `context:`), else the images of its inline
 * manifests, else a label made from the deployment id.
 */
export function revisionOf(
  spec: Pick<DeploymentSpec, 'manifests' | 'context'>,
  startContext: Record<string, string>,
  deploymentId: string,
  environment?: string,
): { version: string; images: string[] } {
  const context = { ...(spec.context ?? {}), ...startContext };
  // `image: shop:{{context.version}}` reads as what it became at this start.
  const images = imagesOf(spec, environment).map((i) =>
    i.replace(/\{\{\s*context\.([A-Za-z0-9_-]+)\s*\}\}/g, (m, k: string) => context[k] ?? m),
  );
  const fromContext = startContext.version ?? spec.context?.version;
  if (fromContext) return { version: fromContext, images };
  if (images.length === 1) {
    const image = images[0] as string;
    const at = image.lastIndexOf('@');
    if (at > 0) return { version: image.slice(at + 1), images };
    const colon = image.lastIndexOf(':');
    if (colon > image.lastIndexOf('/')) return { version: image.slice(colon + 1), images };
    return { version: image, images };
  }
  if (images.length > 1) return { version: images.join(', '), images };
  return { version: `v-${deploymentId.slice(0, 8)}`, images };
}

/** Every `image:` of the inline manifests that apply to `environment` (templates left as written). */
export function imagesOf(spec: Pick<DeploymentSpec, 'manifests'>, environment?: string): string[] {
  const found = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) for (const n of node) visit(n);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (k === 'image' && typeof v === 'string') found.add(v);
        else visit(v);
      }
    }
  };
  for (const m of spec.manifests ?? []) {
    if (!('inline' in m)) continue;
    if (environment && m.targets && !m.targets.includes(environment)) continue;
    try {
      for (const doc of parseAllDocuments(m.inline)) visit(doc.toJS());
    } catch {
      // Not YAML we can read (templated beyond parsing): no images from it.
    }
  }
  return [...found];
}

/**
 * An application's revisions per environment: every environment a deployment of it brought to
 * SUCCEEDED, oldest first (the last is what runs now).
 */
export async function applicationHistory(
  history: DeploymentHistoryRepository,
  application: string,
  environment?: string,
): Promise<ApplicationHistory> {
  const { deployments, successes: envRows, audits } = await history.rows(application, environment);
  if (deployments.length === 0)
    throw new BorealisError('BRL_ERR_NOT_FOUND', `No deployments of application ${application}`);
  const byId = new Map(deployments.map((d) => [d.id, d]));
  const approvers = new Map<string, string[]>();
  const rollbacks = new Map<string, { revision: number; deploymentId: string }>();
  for (const a of audits) {
    if (!a.deployment_id) continue;
    if (a.action === 'approve' && a.environment) {
      const key = `${a.deployment_id}/${a.environment}`;
      if (!approvers.get(key)?.includes(a.who)) approvers.set(key, [...(approvers.get(key) ?? []), a.who]);
    } else if (a.action === 'application.rollback') {
      try {
        const d = JSON.parse(a.details) as { toRevision?: number; toDeploymentId?: string };
        if (typeof d.toRevision === 'number' && typeof d.toDeploymentId === 'string')
          rollbacks.set(a.deployment_id, { revision: d.toRevision, deploymentId: d.toDeploymentId });
      } catch {
        // details not ours
      }
    }
  }
  const perEnv = new Map<string, Revision[]>();
  const sorted = [...envRows].sort(
    (a, b) => (a.finished_at ?? 0) - (b.finished_at ?? 0) || a.deployment_id.localeCompare(b.deployment_id),
  );
  for (const e of sorted) {
    const d = byId.get(e.deployment_id);
    if (!d) continue;
    const list = perEnv.get(e.name) ?? [];
    const spec = JSON.parse(d.spec) as DeploymentSpec;
    const { version, images } = revisionOf(
      spec,
      JSON.parse(d.context) as Record<string, string>,
      d.id,
      e.name,
    );
    const rollbackOf = rollbacks.get(d.id);
    list.push({
      revision: list.length + 1,
      version,
      images,
      deploymentId: d.id,
      deployedAt: new Date(e.finished_at ?? d.created_at).toISOString(),
      startedBy: d.created_by,
      approvedBy: approvers.get(`${d.id}/${e.name}`) ?? [],
      ...(rollbackOf ? { rollbackOf } : {}),
    });
    perEnv.set(e.name, list);
  }
  if (environment && !perEnv.has(environment))
    throw new BorealisError(
      'BRL_ERR_NOT_FOUND',
      `Application ${application} has no successful deployment to environment ${environment} yet`,
    );
  return {
    application,
    environments: [...perEnv].map(([name, revisions]) => ({
      name,
      current: revisions.length ? (revisions[revisions.length - 1] as Revision).revision : null,
      revisions,
    })),
  };
}

/**
 * The deploy file of a rollback: the chosen revision's spec narrowed to one environment (its
 * `dependsOn` dropped: the others are not part of it), constraints kept, so it is gated like
 * any other deployment of that environment.
 */
export function rollbackSpec(spec: DeploymentSpec, environment: string): DeploymentSpec {
  const target = spec.targets[environment];
  if (!target)
    throw new BorealisError(
      'BRL_ERR_NOT_FOUND',
      `That revision's deploy file has no environment ${environment}`,
    );
  return {
    ...spec,
    targets: { [environment]: { ...target, constraints: { ...target.constraints, dependsOn: [] } } },
  };
}
