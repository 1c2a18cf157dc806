import type { Kysely } from 'kysely';

export interface KubernetesRolloutsTable {
  deployment_id: string;
  environment: string;
  application: string;
  /** The Kubernetes driver's record of one rollout, as JSON (kubernetes/rollout-record.ts). */
  state: string;
  updated_at: number;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface KubernetesRolloutTables {
  kubernetes_rollouts: KubernetesRolloutsTable;
}

/** The Kubernetes driver's record of each rollout (its JSON is the driver's business). */
export interface KubernetesRolloutRepository {
  get(deploymentId: string, environment: string): Promise<string | undefined>;
  put(
    target: { deploymentId: string; environment: string; application: string },
    state: string,
    now: number,
  ): Promise<void>;
  /** The record of the latest rollout to this application's environment. */
  latest(application: string, environment: string): Promise<string | undefined>;
}

export function createKubernetesRolloutRepository(
  db: Kysely<KubernetesRolloutTables>,
): KubernetesRolloutRepository {
  return {
    async get(deploymentId, environment) {
      const row = await db
        .selectFrom('kubernetes_rollouts')
        .select('state')
        .where('deployment_id', '=', deploymentId)
        .where('environment', '=', environment)
        .executeTakeFirst();
      return row?.state;
    },
    async put(target, state, now) {
      await db
        .insertInto('kubernetes_rollouts')
        .values({
          deployment_id: target.deploymentId,
          environment: target.environment,
          application: target.application,
          state,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['deployment_id', 'environment']).doUpdateSet({ state, updated_at: now }),
        )
        .execute();
    },
    async latest(application, environment) {
      const row = await db
        .selectFrom('kubernetes_rollouts')
        .select(['state'])
        .where('application', '=', application)
        .where('environment', '=', environment)
        .orderBy('updated_at', 'desc')
        .executeTakeFirst();
      return row?.state;
    },
  };
}
