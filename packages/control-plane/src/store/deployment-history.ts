import type { Kysely } from 'kysely';
import type { DeploymentAndAuditTables } from './deployments.js';

/** What an application's revision history is made of, as stored (the engine makes revisions). */
export interface DeploymentHistoryRows {
  /** Its deployments (at most 5000), oldest first. */
  deployments: Array<{ id: string; spec: string; context: string; created_by: string; created_at: number }>;
  /** The environments those deployments brought to SUCCEEDED (only `environment`'s when given). */
  successes: Array<{ deployment_id: string; name: string; finished_at: number | null }>;
  /** Their `approve` and `application.rollback` audit entries. */
  audits: Array<{
    deployment_id: string | null;
    environment: string | null;
    who: string;
    action: string;
    details: string;
  }>;
}

/** Read-only queries across deployments, environments and the audit log, for `engine/history.ts`. */
export interface DeploymentHistoryRepository {
  rows(application: string, environment?: string): Promise<DeploymentHistoryRows>;
}

/** Ids per `in (...)` list, well below both databases' limits on bound parameters. */
const CHUNK = 500;

export function createDeploymentHistoryRepository(
  db: Kysely<DeploymentAndAuditTables>,
): DeploymentHistoryRepository {
  return {
    async rows(application, environment) {
      const deployments = await db
        .selectFrom('deployments')
        .select(['id', 'spec', 'context', 'created_by', 'created_at'])
        .where('application', '=', application)
        .orderBy('created_at', 'asc')
        .limit(5000)
        .execute();
      const ids = deployments.map((d) => d.id);
      const successes: DeploymentHistoryRows['successes'] = [];
      const audits: DeploymentHistoryRows['audits'] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        let q = db
          .selectFrom('deployment_environments')
          .select(['deployment_id', 'name', 'finished_at'])
          .where('deployment_id', 'in', chunk)
          .where('status', '=', 'SUCCEEDED');
        if (environment) q = q.where('name', '=', environment);
        successes.push(...(await q.execute()));
        audits.push(
          ...(await db
            .selectFrom('audit_log')
            .select(['deployment_id', 'environment', 'who', 'action', 'details'])
            .where('deployment_id', 'in', chunk)
            .where('action', 'in', ['approve', 'application.rollback'])
            .execute()),
        );
      }
      return { deployments, successes, audits };
    },
  };
}
