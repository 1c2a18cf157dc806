import type { JudgmentRequest } from '../engine/index.js';
import type { AnalysisVariable, ArmoryVariable } from '../templates/index.js';

/** PromQL's duration syntax for a span: `90s`, `5m`, `2h`, `1500ms`. */
export function promQlDuration(ms: number): string {
  const span = Math.max(1, Math.round(ms));
  if (span % 3_600_000 === 0) return `${span / 3_600_000}h`;
  if (span % 60_000 === 0) return `${span / 60_000}m`;
  if (span % 1_000 === 0) return `${span / 1_000}s`;
  return `${span}ms`;
}

/** The `armory.*` values of one judgment run's query templates (Armory's names). */
export function analysisVariables(
  req: JudgmentRequest,
): Partial<Record<ArmoryVariable | AnalysisVariable, string>> {
  const { start, end } = req.window;
  const length = Math.max(0, end - start);
  return {
    startTimeIso8601: new Date(start).toISOString(),
    startTimeEpochSeconds: String(Math.floor(start / 1000)),
    startTimeEpochMillis: String(start),
    endTimeIso8601: new Date(end).toISOString(),
    endTimeEpochSeconds: String(Math.floor(end / 1000)),
    endTimeEpochMillis: String(end),
    intervalMillis: String(length),
    intervalSeconds: String(Math.round(length / 1000)),
    promQlStepInterval: promQlDuration(length),
    deploymentId: req.deploymentId,
    applicationName: req.application,
    environmentName: req.environment,
    replicaSetName: req.replicaSetName,
    accountName: req.account ?? '',
    namespace: req.namespace ?? '',
  };
}
