import type { AnalysisQuerySpec, AnalysisStep, QueryVerdict } from '@borealis/deploy-spec';

export type { QueryVerdict } from '@borealis/deploy-spec';

/** The span of time one judgment run asks about (epoch milliseconds). */
export interface JudgmentWindow {
  start: number;
  end: number;
}

export interface JudgmentRequest {
  deploymentId: string;
  application: string;
  environment: string;
  account?: string;
  namespace?: string;
  replicaSetName: string;
  step: AnalysisStep;
  /** The queries the step names, as defined in the deploy file's `analysis.queries`. */
  queries: AnalysisQuerySpec[];
  defaultMetricProviderName?: string;
  /** File context, start-time context and the step's `context`, merged. */
  context: Record<string, string>;
  /** 0-based judgment run. */
  index: number;
  window: JudgmentWindow;
}

export interface JudgmentOutcome {
  passed: boolean;
  message: string;
  queries: QueryVerdict[];
}

/**
 * Judges `analysis` steps against real metric providers (the `metrics/` concern implements it).
 * Every failure to measure is a failed run that says why; nothing is ever passed unjudged.
 */
export interface MetricJudge {
  /** The providers that exist now: a deployment naming any other is refused at start. */
  providerNames(): Promise<string[]>;
  judge(request: JudgmentRequest): Promise<JudgmentOutcome>;
}
