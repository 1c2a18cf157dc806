import type { StoredSpec } from '../engine/target-driver.js';
import { TargetDriverError } from '../engine/target-driver.js';
import { type KubeObject, pinnedService, renderManifests } from './objects.js';

interface SmiConfig {
  rootServiceName: string;
  canaryServiceName?: string;
  trafficSplitName?: string;
}

/** The deploy file's trafficManagement entries that apply to an environment. */
function entriesFor(spec: StoredSpec, environment: string) {
  return spec.trafficManagement.filter(
    (t) => !t.targets || t.targets.length === 0 || t.targets.includes(environment),
  );
}

/**
 * Objects that route canary traffic by weight when `trafficManagement` asks for it: for SMI,
 * a Service per version (copies of the root Service, each selecting one version) and a
 * TrafficSplit (split.smi-spec.io/v1alpha2) between them. Without trafficManagement the split is
 * by replicas alone (the manifests' Service selects both versions). Istio is refused with a
 * message rather than half done.
 */
export function trafficObjects(
  spec: StoredSpec,
  environment: string,
  namespace: string,
  record: {
    version: string;
    deploymentId: string;
    workloads: Array<{ olds: Array<{ version?: string; replicas: number }> }>;
  },
  weight: number,
): KubeObject[] {
  const entries = entriesFor(spec, environment);
  if (entries.length === 0) return [];
  const out: KubeObject[] = [];
  const rendered = renderManifests({
    spec,
    environment,
    namespace,
    deploymentId: record.deploymentId,
    version: record.version,
  }).map((o) => o.object);
  const oldVersion = record.workloads
    .flatMap((w) => w.olds)
    .find((o) => o.version && o.replicas >= 0)?.version;
  for (const entry of entries) {
    if (entry.istio !== undefined)
      throw new TargetDriverError(
        `trafficManagement istio (for ${environment}) is not implemented by the kubernetes driver yet: the canary splits by replicas only without it; remove the istio entry, or use smi`,
      );
    const smi = (Array.isArray(entry.smi) ? entry.smi : []) as SmiConfig[];
    for (const cfg of smi) {
      const root = rendered.find((o) => o.kind === 'Service' && o.metadata.name === cfg.rootServiceName);
      if (!root)
        throw new TargetDriverError(
          `trafficManagement smi rootServiceName ${cfg.rootServiceName} is not a Service in the manifests for ${environment}: add it, or fix the name`,
        );
      const canaryName = cfg.canaryServiceName ?? `${cfg.rootServiceName}-canary`;
      const stableName = `${cfg.rootServiceName}-stable`;
      const canary = pinnedService(root, record.version);
      canary.metadata.name = canaryName;
      const stable = oldVersion ? pinnedService(root, oldVersion) : structuredClone(root);
      stable.metadata.name = stableName;
      for (const s of [canary, stable]) {
        delete s.spec.clusterIP;
        delete s.spec.clusterIPs;
      }
      const w = oldVersion ? weight : 100;
      out.push(stable, canary, {
        apiVersion: 'split.smi-spec.io/v1alpha2',
        kind: 'TrafficSplit',
        metadata: {
          name: cfg.trafficSplitName ?? cfg.rootServiceName,
          namespace,
          labels: { ...root.metadata.labels },
          annotations: { ...root.metadata.annotations },
        },
        spec: {
          service: cfg.rootServiceName,
          backends: [
            { service: stableName, weight: 100 - w },
            { service: canaryName, weight: w },
          ],
        },
      });
    }
  }
  return out;
}
