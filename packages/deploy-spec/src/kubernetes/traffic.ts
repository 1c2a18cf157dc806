import { type StoredSpec, TargetDriverError } from './contracts.js';
import { type KubeObject, Labels, pinnedService, renderManifests } from './objects.js';

interface IstioConfig {
  virtualService: { name: string; httpRouteName?: string };
  destinationRule?: { name: string; activeSubsetName?: string; canarySubsetName?: string };
}

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
 * by replicas alone (the manifests' Service selects both versions). For Istio, the
 * DestinationRule gets a subset per version and the VirtualService's HTTP route a weight per
 * subset.
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
    const istio = (Array.isArray(entry.istio) ? entry.istio : []) as IstioConfig[];
    for (const cfg of istio)
      out.push(...istioObjects(cfg, rendered, environment, namespace, record.version, oldVersion, weight));
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

/**
 * Istio as Armory configures it: `virtualService {name, httpRouteName?}` names a VirtualService of
 * the manifests; `destinationRule {name, activeSubsetName?, canarySubsetName?}` one of the
 * manifests' DestinationRules (created beside the VirtualService when the manifests have none).
 */
function istioObjects(
  cfg: IstioConfig,
  rendered: KubeObject[],
  environment: string,
  namespace: string,
  version: string,
  oldVersion: string | undefined,
  weight: number,
): KubeObject[] {
  const vsName = cfg.virtualService.name;
  const found = rendered.find((o) => o.kind === 'VirtualService' && o.metadata.name === vsName);
  if (!found)
    throw new TargetDriverError(
      `trafficManagement istio virtualService ${vsName} is not a VirtualService in the manifests for ${environment}: add it (Borealis sets its route weights)`,
    );
  const vs = structuredClone(found);
  const routes: KubeObject[] = Array.isArray(vs.spec?.http) ? vs.spec.http : [];
  const routeName = cfg.virtualService.httpRouteName;
  const route = routeName ? routes.find((r) => r.name === routeName) : routes[0];
  if (!route)
    throw new TargetDriverError(
      `VirtualService ${vsName} has no HTTP route${routeName ? ` named ${routeName}` : ''} for Borealis to weight: add spec.http[] (with name: ${routeName ?? 'NAME'})`,
    );
  const host = route.route?.[0]?.destination?.host;
  if (typeof host !== 'string')
    throw new TargetDriverError(`VirtualService ${vsName}: its HTTP route needs route[0].destination.host`);
  const drName = cfg.destinationRule?.name ?? vsName;
  const active = cfg.destinationRule?.activeSubsetName ?? 'stable';
  const canary = cfg.destinationRule?.canarySubsetName ?? 'canary';
  const dr = structuredClone(
    rendered.find((o) => o.kind === 'DestinationRule' && o.metadata.name === drName) ?? {
      apiVersion: vs.apiVersion,
      kind: 'DestinationRule',
      metadata: {
        name: drName,
        namespace,
        labels: { ...vs.metadata.labels },
        annotations: { ...vs.metadata.annotations },
      },
      spec: { host },
    },
  );
  dr.spec ??= {};
  dr.spec.subsets = [
    ...((dr.spec.subsets ?? []) as KubeObject[]).filter((x) => x.name !== active && x.name !== canary),
    { name: active, labels: { [Labels.version]: oldVersion ?? version } },
    { name: canary, labels: { [Labels.version]: version } },
  ];
  const w = oldVersion ? weight : 100;
  route.route = [
    { destination: { host, subset: active }, weight: 100 - w },
    { destination: { host, subset: canary }, weight: w },
  ];
  return [dr, vs];
}
