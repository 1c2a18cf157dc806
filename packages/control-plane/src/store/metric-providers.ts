import type { MetricProviderView } from '@borealis/deploy-spec';
import type { Kysely } from 'kysely';

export interface MetricProvidersTable {
  name: string;
  type: string;
  base_url: string;
  network_mode: string;
  agent_identifier: string | null;
  /** JSON `[{key, value}]`; values are templates such as `Bearer {{secrets.prom_token}}`. */
  headers: string;
  /** JSON object of type-specific settings (web: `{jsonPath}`). */
  settings: string;
  created_at: number;
  updated_at: number;
}

/** This concern's tables, by name (`schema.ts` joins every concern's into `Database`). */
export interface MetricProviderTables {
  metric_providers: MetricProvidersTable;
}

/** A metric provider as stored (already validated by `metrics/`). */
export interface MetricProviderRecord
  extends Pick<
    MetricProviderView,
    'name' | 'type' | 'baseUrl' | 'networkMode' | 'agentIdentifier' | 'headers'
  > {
  settings: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface MetricProviderRepository {
  /** Creates or replaces; `created` is false when a provider of that name was replaced. */
  put(
    provider: Omit<MetricProviderRecord, 'createdAt' | 'updatedAt'>,
    now: number,
  ): Promise<{ created: boolean; provider: MetricProviderRecord }>;
  get(name: string): Promise<MetricProviderRecord | undefined>;
  /** By name. */
  list(): Promise<MetricProviderRecord[]>;
  names(): Promise<string[]>;
  delete(name: string): Promise<boolean>;
}

export function createMetricProviderRepository(db: Kysely<MetricProviderTables>): MetricProviderRepository {
  const get = async (name: string) => {
    const row = await db
      .selectFrom('metric_providers')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  };
  return {
    async put(p, now) {
      const existing = await db
        .selectFrom('metric_providers')
        .select('created_at')
        .where('name', '=', p.name)
        .executeTakeFirst();
      const row: MetricProvidersTable = {
        name: p.name,
        type: p.type,
        base_url: p.baseUrl,
        network_mode: p.networkMode,
        agent_identifier: p.agentIdentifier ?? null,
        headers: JSON.stringify(p.headers),
        settings: JSON.stringify(p.settings),
        created_at: existing?.created_at ?? now,
        updated_at: now,
      };
      const { name: _name, created_at: _created, ...patch } = row;
      // One statement on both databases: a concurrent put of the same name replaces, never fails.
      await db
        .insertInto('metric_providers')
        .values(row)
        .onConflict((oc) => oc.column('name').doUpdateSet(patch))
        .execute();
      return { created: !existing, provider: toRecord(row) };
    },
    get,
    async list() {
      const rows = await db.selectFrom('metric_providers').selectAll().orderBy('name').execute();
      return rows.map(toRecord);
    },
    async names() {
      const rows = await db.selectFrom('metric_providers').select('name').orderBy('name').execute();
      return rows.map((r) => r.name);
    },
    async delete(name) {
      const res = await db.deleteFrom('metric_providers').where('name', '=', name).executeTakeFirst();
      return res.numDeletedRows > 0n;
    },
  };
}

function toRecord(row: MetricProvidersTable): MetricProviderRecord {
  return {
    name: row.name,
    type: row.type,
    baseUrl: row.base_url,
    networkMode: row.network_mode,
    ...(row.agent_identifier === null ? {} : { agentIdentifier: row.agent_identifier }),
    headers: JSON.parse(row.headers) as MetricProviderRecord['headers'],
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
