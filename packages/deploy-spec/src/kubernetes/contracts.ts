/**
 * What the planner shares with the control plane's kubernetes driver: the stored deploy file, the
 * driver's refusal, and the rollout modes and workloads.
 */
import type { DeploymentSpec } from '../deployfile/index.js';

/** The deploy file as the engine stored it: the spec, plus the manifest files the client sent. */
export type StoredSpec = DeploymentSpec & {
  /** Contents of `manifests[].path` entries, read by the client next to the deploy file. */
  manifestFiles?: Record<string, string>;
};

/** A target driver's refusal or failure, in words for people (the engine shows it on the step). */
export class TargetDriverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetDriverError';
  }
}

export type RolloutMode = 'replace' | 'canary' | 'blueGreen';

export interface OldVersion {
  name: string;
  replicas: number;
  version?: string;
  deploymentId?: string;
}

export interface Workload {
  /** The Deployment's name in the manifest. */
  name: string;
  /** The name it runs under in this rollout (`web`, or `web-v-1a2b3c4d` beside the old one). */
  newName: string;
  total: number;
  olds: OldVersion[];
}
