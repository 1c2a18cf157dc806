import type { Kysely } from 'kysely';

/** Which driver an environment of a deployment uses, chosen at its first action. */
export interface TargetDriversTable {
  deployment_id: string;
  environment: string;
  application: string;
  driver: string;
  /** Why this driver (for the status view): `account prod-eu is a Kubernetes agent`. */
  reason: string;
  created_at: number;
}

/** Agent identifiers that answered as Kubernetes agents: they stay Kubernetes targets. */
export interface KubernetesAccountsTable {
  identifier: string;
  seen_at: number;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface TargetDriverTables {
  target_drivers: TargetDriversTable;
  kubernetes_accounts: KubernetesAccountsTable;
}

export interface TargetDriverChoice {
  driver: string;
  reason: string;
}

/** Which driver each environment of a deployment uses, and which agents are Kubernetes agents. */
export interface TargetDriverRepository {
  /** The choice stored for this environment of this deployment. */
  chosen(deploymentId: string, environment: string): Promise<TargetDriverChoice | undefined>;
  /** Stores a choice unless one is stored already (the first one stays). */
  choose(
    target: { deploymentId: string; environment: string; application: string },
    choice: TargetDriverChoice,
    now: number,
  ): Promise<void>;
  /** The drivers a deployment's environments use (one row per environment chosen). */
  driversOf(deploymentId: string): Promise<string[]>;
  /** The latest choice for this application's environment, whichever deployment made it. */
  latest(application: string, environment: string): Promise<TargetDriverChoice | undefined>;
  /** Remembers that agent `identifier` answered as a Kubernetes agent. */
  markKubernetesAgent(identifier: string, now: number): Promise<void>;
  /** True when agent `identifier` ever answered as a Kubernetes agent. */
  isKubernetesAgent(identifier: string): Promise<boolean>;
}

export function createTargetDriverRepository(db: Kysely<TargetDriverTables>): TargetDriverRepository {
  return {
    chosen: (deploymentId, environment) =>
      db
        .selectFrom('target_drivers')
        .select(['driver', 'reason'])
        .where('deployment_id', '=', deploymentId)
        .where('environment', '=', environment)
        .executeTakeFirst(),
    async choose(target, choice, now) {
      await db
        .insertInto('target_drivers')
        .values({
          deployment_id: target.deploymentId,
          environment: target.environment,
          application: target.application,
          driver: choice.driver,
          reason: choice.reason,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['deployment_id', 'environment']).doNothing())
        .execute();
    },
    async driversOf(deploymentId) {
      const rows = await db
        .selectFrom('target_drivers')
        .select('driver')
        .where('deployment_id', '=', deploymentId)
        .execute();
      return rows.map((r) => r.driver);
    },
    latest: (application, environment) =>
      db
        .selectFrom('target_drivers')
        .select(['driver', 'reason'])
        .where('application', '=', application)
        .where('environment', '=', environment)
        .orderBy('created_at', 'desc')
        .executeTakeFirst(),
    async markKubernetesAgent(identifier, now) {
      await db
        .insertInto('kubernetes_accounts')
        .values({ identifier, seen_at: now })
        .onConflict((oc) => oc.column('identifier').doUpdateSet({ seen_at: now }))
        .execute();
    },
    async isKubernetesAgent(identifier) {
      const row = await db
        .selectFrom('kubernetes_accounts')
        .select('identifier')
        .where('identifier', '=', identifier)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
