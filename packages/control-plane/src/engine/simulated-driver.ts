import type { SimulatedTargetRepository } from '../store/index.js';
import type { TargetDriver, TargetRef, TargetVersion, TargetView } from './target-driver.js';
import type { DriverOp } from './types.js';

interface SimulatedState {
  versions: TargetVersion[];
  exposedServices: string[];
}

export const SIMULATED_DRIVER_NAME = 'simulated';

/**
 * The `simulated` target driver, the default of the embedded setup: it runs nothing, and keeps
 * each environment's versions and traffic weights in the store so that a deployment's effect is
 * visible (and survives restarts) exactly as a real driver's would be.
 */
export function createSimulatedDriver(targets: SimulatedTargetRepository): TargetDriver {
  async function load(application: string, environment: string): Promise<SimulatedState | undefined> {
    const state = await targets.get(application, environment);
    return state === undefined ? undefined : (JSON.parse(state) as SimulatedState);
  }

  return {
    name: SIMULATED_DRIVER_NAME,
    async apply(target, op) {
      const current = (await load(target.application, target.environment)) ?? {
        versions: [],
        exposedServices: [],
      };
      const next = transform(current, target, op);
      await targets.put(target.application, target.environment, JSON.stringify(next), Date.now());
    },
    async describe(application, environment): Promise<TargetView | undefined> {
      const s = await load(application, environment);
      return s
        ? { driver: SIMULATED_DRIVER_NAME, versions: s.versions, exposedServices: s.exposedServices }
        : undefined;
    },
  };
}

/** Pure and idempotent: applying the same op twice gives the same state. */
export function transform(state: SimulatedState, t: TargetRef, op: DriverOp): SimulatedState {
  const mine = (v: TargetVersion) => v.deploymentId === t.deploymentId;
  const others = state.versions.filter((v) => !mine(v));
  const self: TargetVersion = state.versions.find(mine) ?? {
    version: t.version,
    deploymentId: t.deploymentId,
    weight: 0,
    role: 'canary',
  };
  const split = (weight: number, role: TargetVersion['role']): TargetVersion[] => [
    ...others.map((v) => ({ ...v, weight: others.length ? 100 - weight : 0, role: 'active' as const })),
    { ...self, weight: others.length ? weight : 100, role },
  ];
  switch (op.op) {
    case 'deploy':
      if (op.mode === 'replace') return { ...state, versions: [{ ...self, weight: 100, role: 'active' }] };
      return { ...state, versions: split(0, op.mode === 'blueGreen' ? 'preview' : 'canary') };
    case 'setWeight':
      return { ...state, versions: split(op.weight, op.weight === 100 ? 'active' : 'canary') };
    case 'moveTraffic':
      return {
        ...state,
        versions: [
          ...others.map((v) => ({ ...v, weight: 0, role: 'preview' as const })),
          { ...self, weight: 100, role: 'active' },
        ],
      };
    case 'shutDownOld':
      return { ...state, versions: [{ ...self, weight: 100, role: 'active' }] };
    case 'exposeServices':
      return { ...state, exposedServices: [...new Set([...state.exposedServices, ...op.services])] };
    case 'rollback':
      return {
        ...state,
        versions: others.map((v) => ({
          ...v,
          weight: 100 / Math.max(1, others.length),
          role: 'active' as const,
        })),
      };
  }
}
