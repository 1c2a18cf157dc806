import { randomBytes } from 'node:crypto';
import type { ClusterSettingsRepository } from '../store/index.js';

/**
 * The replicas that share a database are one cluster, so the database names it: the first replica
 * to start writes a random id and every other one reads it. Two clusters on one NATS (staging and
 * production, or parallel test runs) so never hear each other, with nothing to configure.
 */
export function loadClusterId(settings: ClusterSettingsRepository): Promise<string> {
  return settings.putIfAbsent('cluster_id', randomBytes(6).toString('hex'));
}
