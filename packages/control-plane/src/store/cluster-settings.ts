import type { Kysely } from 'kysely';

export interface ClusterSettingsTable {
  /** e.g. `cluster_id`: the bus namespace of the replicas sharing this database. */
  name: string;
  value: string;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface ClusterSettingsTables {
  cluster_settings: ClusterSettingsTable;
}

/** Settings every replica sharing the database shares (`cluster_id`). */
export interface ClusterSettingsRepository {
  /**
   * Stores `value` under `name` unless some replica stored one first; returns the stored value
   * (the same on every replica, whichever wrote it).
   */
  putIfAbsent(name: string, value: string): Promise<string>;
}

export function createClusterSettingsRepository(
  db: Kysely<ClusterSettingsTables>,
): ClusterSettingsRepository {
  return {
    async putIfAbsent(name, value) {
      await db
        .insertInto('cluster_settings')
        .values({ name, value })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const row = await db
        .selectFrom('cluster_settings')
        .select('value')
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      return row.value;
    },
  };
}
