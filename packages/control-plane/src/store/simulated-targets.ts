import type { Kysely } from 'kysely';

export interface SimulatedTargetsTable {
  application: string;
  environment: string;
  /** Versions and weights the simulated driver keeps, as JSON. */
  state: string;
  updated_at: number;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface SimulatedTargetTables {
  simulated_targets: SimulatedTargetsTable;
}

/** The simulated driver's record of each environment (its JSON is the driver's business). */
export interface SimulatedTargetRepository {
  get(application: string, environment: string): Promise<string | undefined>;
  put(application: string, environment: string, state: string, now: number): Promise<void>;
}

export function createSimulatedTargetRepository(
  db: Kysely<SimulatedTargetTables>,
): SimulatedTargetRepository {
  return {
    async get(application, environment) {
      const row = await db
        .selectFrom('simulated_targets')
        .select('state')
        .where('application', '=', application)
        .where('environment', '=', environment)
        .executeTakeFirst();
      return row?.state;
    },
    async put(application, environment, state, now) {
      await db
        .insertInto('simulated_targets')
        .values({ application, environment, state, updated_at: now })
        .onConflict((oc) =>
          oc.columns(['application', 'environment']).doUpdateSet({ state, updated_at: now }),
        )
        .execute();
    },
  };
}
