import type { Migration, MigrationProvider } from 'kysely';
import * as apiTokens from './0001-api-tokens.js';
import * as agentCredentials from './0002-agent-credentials.js';
import * as secrets from './0003-secrets.js';
import * as deployments from './0010-deployments.js';
import * as webhookRuns from './0020-webhook-runs.js';
import * as cluster from './0030-cluster.js';
import * as webhookRunWaiting from './0045-webhook-run-waiting.js';
import * as metricProviders from './0050-metric-providers.js';
import * as tokenRolesAndAudit from './0060-token-roles-and-audit.js';
import * as targetDrivers from './0070-target-drivers.js';
import * as replicaLeases from './0080-replica-leases.js';

/**
 * Every migration, in the order they run. Kysely's Migrator sorts by name and refuses to start
 * when an applied migration is missing or a new one sorts before an applied one, so names are
 * numbered and a migration, once shipped, is never renamed or edited: change the schema with a
 * new one. Use the schema builder (no raw SQL) so the same migration runs on SQLite and
 * PostgreSQL; timestamps are `bigint` milliseconds and JSON is `text`.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-api-tokens': apiTokens,
  '0002-agent-credentials': agentCredentials,
  '0003-secrets': secrets,
  '0010-deployments': deployments,
  '0020-webhook-runs': webhookRuns,
  '0030-cluster': cluster,
  '0045-webhook-run-waiting': webhookRunWaiting,
  '0050-metric-providers': metricProviders,
  '0060-token-roles-and-audit': tokenRolesAndAudit,
  '0070-target-drivers': targetDrivers,
  '0080-replica-leases': replicaLeases,
};

/** Serves the in-code list to Kysely's Migrator (no migration files are read at run time). */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};
