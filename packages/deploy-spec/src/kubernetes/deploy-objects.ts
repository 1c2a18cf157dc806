import { type RolloutMode, type StoredSpec, TargetDriverError, type Workload } from './contracts.js';
import { type KubeObject, Labels, labelValue, pinnedService, versionedDeployment } from './objects.js';

/** What a rollout applies, as pure functions of the deploy file: shared by the driver and `deploy plan`. */

export function modeOf(spec: StoredSpec, environment: string): RolloutMode {
  const target = spec.targets[environment];
  const strategy = target?.strategy ? spec.strategies[target.strategy] : undefined;
  return strategy?.type ?? 'replace';
}

export interface BlueGreenServices {
  activeService: string;
  previewService?: string;
}

/**
 * A blue/green target's Services: the strategy's, or (as Armory's current guide writes them)
 * `trafficManagement[].kubernetes[]` for the target.
 */
export function blueGreenOf(spec: StoredSpec, environment: string): BlueGreenServices | undefined {
  const target = spec.targets[environment];
  const strategy = target?.strategy ? spec.strategies[target.strategy] : undefined;
  if (strategy?.type !== 'blueGreen') return undefined;
  const fromTraffic = spec.trafficManagement
    .filter((t) => !t.targets || t.targets.length === 0 || t.targets.includes(environment))
    .flatMap((t) => (Array.isArray(t.kubernetes) ? (t.kubernetes as Array<Record<string, unknown>>) : []))
    .find((k) => typeof k?.activeService === 'string');
  const activeService = strategy.activeService ?? (fromTraffic?.activeService as string | undefined);
  const previewService =
    strategy.previewService ??
    (typeof fromTraffic?.previewService === 'string' ? fromTraffic.previewService : undefined);
  if (!activeService)
    throw new TargetDriverError(
      `blue/green in ${environment} needs an activeService: set strategies.${target?.strategy}.blueGreen.activeService, or trafficManagement: [{targets: [${environment}], kubernetes: [{activeService: NAME}]}]`,
    );
  return { activeService, ...(previewService ? { previewService } : {}) };
}

/** What one environment's first action applies, given the older versions found in the cluster. */
export function deployObjects(
  rendered: KubeObject[],
  mode: RolloutMode,
  version: string,
  workloads: Workload[],
  blueGreen: BlueGreenServices | undefined,
): KubeObject[] {
  const out: KubeObject[] = [];
  for (const obj of rendered) {
    if (obj.kind === 'Deployment' && mode !== 'replace') {
      const w = workloads.find((x) => x.name === obj.metadata.name);
      const hasOld = (w?.olds ?? []).some((o) => o.replicas > 0);
      const replicas = mode === 'canary' && hasOld ? 0 : (obj.spec?.replicas ?? 1);
      out.push(versionedDeployment(obj, version, replicas));
      continue;
    }
    if (obj.kind === 'Service' && blueGreen) {
      const anyOld = workloads.some((w) => w.olds.some((o) => o.replicas > 0));
      if (obj.metadata.name === blueGreen.activeService) {
        // Traffic stays where it is until redirectTrafficAfter passed; with nothing running yet
        // there is nothing to protect, and the Service points at the new version at once.
        if (!anyOld) out.push(pinnedService(obj, version));
        continue;
      }
      if (obj.metadata.name === blueGreen.previewService) {
        out.push(pinnedService(obj, version));
        continue;
      }
    }
    out.push(obj);
  }
  return out;
}

/**
 * Earlier versions of one workload of this application in this environment (other applications
 * may run a `web` in the same namespace: never theirs).
 */
export function workloadSelector(name: string, application: string, environment: string): string {
  return `${Labels.workload}=${name},${Labels.application}=${labelValue(application)},${Labels.environment}=${labelValue(environment)}`;
}

/** The objects of `objects` that no object of `replacing` (same kind and name) stands for. */
export function withoutReplaced(objects: KubeObject[], replacing: KubeObject[]): KubeObject[] {
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
  const replaced = new Set(replacing.map(key));
  return objects.filter((o) => !replaced.has(key(o)));
}
