import { stringify } from 'yaml';
import type { RolloutMode, StoredSpec, Workload } from './contracts.js';
import { blueGreenOf, deployObjects, modeOf, withoutReplaced, workloadSelector } from './deploy-objects.js';
import {
  applyOrder,
  collectionPath,
  describeObject,
  FIELD_MANAGER,
  type KubeObject,
  Labels,
  objectPath,
  renderManifests,
  versionedName,
} from './objects.js';
import { trafficObjects } from './traffic.js';

/** One call to the Kubernetes API, as the driver sends it and `deploy plan` prints it. */
export interface ApiCall {
  method: string;
  path: string;
  query?: Record<string, string>;
  contentType?: string;
  body?: KubeObject;
}

export function applyCall(path: string, object: KubeObject, force = false): ApiCall {
  return {
    method: 'PATCH',
    path,
    query: { fieldManager: FIELD_MANAGER, ...(force ? { force: 'true' } : {}) },
    contentType: 'application/apply-patch+yaml',
    body: object,
  };
}

/** Placeholders `deploy plan` uses for what only a start knows; valid as Kubernetes values. */
export const PLANNED_DEPLOYMENT_ID = 'PLANNED';
export const PLANNED_VERSION = 'v-planned';

export interface PlannedCall extends ApiCall {
  /** Why the driver makes it. */
  why: string;
}

export interface EnvironmentPlan {
  environment: string;
  namespace: string;
  account: string | null;
  mode: RolloutMode;
  /** What is applied by the environment's first action, in order. */
  objects: KubeObject[];
  /** The API calls of that first action, in order. */
  calls: PlannedCall[];
  /** The later actions of the strategy, in words (they depend on what runs in the cluster then). */
  later: string[];
  /** Set when the environment cannot be planned (a manifest problem), in the driver's words. */
  error?: string;
}

/**
 * What the kubernetes driver would send for each environment, computed without a cluster: the
 * objects exactly as applied and the calls of the first action, assuming no older version runs
 * (the first deployment; with an older version a canary starts at 0 replicas, and a blue/green
 * leaves the active Service alone until traffic moves — the plan says so).
 */
export function planDeployment(
  spec: StoredSpec,
  ids: { deploymentId?: string; version?: string } = {},
): EnvironmentPlan[] {
  const deploymentId = ids.deploymentId ?? PLANNED_DEPLOYMENT_ID;
  const version = ids.version ?? PLANNED_VERSION;
  return Object.values(spec.targets).map((target) => {
    const namespace = target.namespace ?? 'default';
    const mode = modeOf(spec, target.name);
    const plan: EnvironmentPlan = {
      environment: target.name,
      namespace,
      account: target.account ?? null,
      mode,
      objects: [],
      calls: [],
      later: [],
    };
    try {
      const rendered = applyOrder(
        renderManifests({ spec, environment: target.name, namespace, deploymentId, version }),
      ).map((o) => o.object);
      const blueGreen = mode === 'blueGreen' ? blueGreenOf(spec, target.name) : undefined;
      const workloads: Workload[] = rendered
        .filter((o) => o.kind === 'Deployment')
        .map((d) => ({
          name: d.metadata.name,
          newName: mode === 'replace' ? d.metadata.name : versionedName(d.metadata.name, version),
          total: Number(d.spec?.replicas ?? 1),
          olds: [],
        }));
      const traffic = trafficObjects(
        spec,
        target.name,
        namespace,
        { version, deploymentId, workloads },
        mode === 'canary' ? 0 : 100,
      );
      const objects = withoutReplaced(deployObjects(rendered, mode, version, workloads, blueGreen), traffic);
      plan.objects = [...objects, ...traffic];
      const deployments = collectionPath('apps/v1', 'Deployment', namespace);
      for (const w of workloads) {
        plan.calls.push({
          method: 'GET',
          path: deployments,
          query: { labelSelector: workloadSelector(w.name, spec.application, target.name) },
          why: `find older versions of ${w.name}`,
        });
        plan.calls.push({
          method: 'GET',
          path: `${deployments}/${w.name}`,
          why: `an unlabelled ${w.name} counts as older too`,
        });
      }
      const snapshot = new Set<string>();
      for (const o of [
        ...deployObjects(rendered, mode, version, workloads, undefined),
        ...traffic,
        ...(blueGreen
          ? [{ apiVersion: 'v1', kind: 'Service', metadata: { name: blueGreen.activeService, namespace } }]
          : []),
      ]) {
        const path = objectPath(o);
        if (snapshot.has(path)) continue;
        snapshot.add(path);
        plan.calls.push({
          method: 'GET',
          path,
          why: `remember ${describeObject(o)} as it is, for a rollback`,
        });
      }
      for (const o of plan.objects)
        plan.calls.push({ ...applyCall(objectPath(o), o), why: `server-side apply ${describeObject(o)}` });
      for (const w of workloads)
        plan.calls.push({
          method: 'GET',
          path: deployments,
          query: { watch: '1', fieldSelector: `metadata.name=${w.newName}` },
          why: `watch ${w.newName} until its rollout is done (observedGeneration, updated and available replicas)`,
        });
      if (mode === 'replace') {
        plan.later.push(
          'after the rollout: older Borealis versions of each Deployment (the same workload, application and environment labels, another name) are deleted',
        );
      }
      const strategy = target.strategy ? spec.strategies[target.strategy] : undefined;
      if (strategy?.type === 'canary') {
        plan.later.push(
          'if an older version runs, the new Deployment starts at 0 replicas beside it (the plan above shows the first deployment, at full replicas)',
        );
        for (const step of strategy.steps)
          if (step.type === 'setWeight')
            plan.later.push(
              `setWeight ${step.weight}: PATCH .../deployments/<name>-${version}/scale to ceil(replicas x ${step.weight}%) and the older version's scale to the rest; watch both`,
            );
        plan.later.push(
          'at the end: all replicas to the new version, then the older Deployments are deleted',
        );
      }
      if (blueGreen) {
        plan.later.push(
          `if an older version runs, Service ${blueGreen.activeService} is not applied yet: it keeps sending traffic to the older version`,
          `after redirectTrafficAfter: server-side apply Service ${blueGreen.activeService} selecting ${Labels.version}=${version}`,
          'after shutDownOldVersionAfter: the older Deployments are deleted',
        );
      }
      plan.later.push(
        'a rollback restores every object above as it was before (deleting the ones that did not exist)',
      );
    } catch (err) {
      plan.error = (err as Error).message;
    }
    return plan;
  });
}

/** For people, and for `kubectl apply --dry-run=server -f -`: comments, then the objects as YAML. */
export function formatPlan(plans: EnvironmentPlan[]): string {
  const out: string[] = [
    `# borealis deploy plan: nothing was changed. Deployment id and version are placeholders (${PLANNED_DEPLOYMENT_ID}, ${PLANNED_VERSION}); a start fills them in.`,
    '# Check the objects against a cluster with: borealis deploy plan -f FILE --env ENV | kubectl apply --dry-run=server -f -',
  ];
  for (const p of plans) {
    out.push(
      '',
      `# Environment ${p.environment}: namespace ${p.namespace}, through agent ${p.account ?? '(no account)'}, ${p.mode === 'replace' ? 'rolling update' : p.mode}`,
    );
    if (p.error) {
      out.push(`# ERROR: ${p.error}`);
      continue;
    }
    out.push('# API calls of the first action, in order:');
    for (const c of p.calls) {
      const q = c.query ? `?${new URLSearchParams(c.query)}` : '';
      out.push(`#   ${c.method.padEnd(6)} ${c.path}${q}  (${c.why})`);
    }
    if (p.later.length) out.push('# Then:', ...p.later.map((l) => `#   ${l}`));
    for (const o of p.objects) out.push('---', stringify(o).trimEnd());
  }
  return out.join('\n');
}
