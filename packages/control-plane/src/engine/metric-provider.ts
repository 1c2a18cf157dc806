import type { AnalysisQuerySpec, AnalysisStep } from '../deployfile/index.js';

export interface JudgmentRequest {
  deploymentId: string;
  environment: string;
  step: AnalysisStep;
  /** The queries the step names, as defined in the deploy file's `analysis.queries`. */
  queries: AnalysisQuerySpec[];
  /** 0-based judgment run. */
  index: number;
}

/**
 * Judges an `analysis` step. No real provider exists yet: without one, the engine records the
 * analysis as `skipped: no metric provider configured` and treats it as passed, so nobody is led
 * to believe a judgment ran. Tests and later issues plug providers in by name.
 */
export interface MetricProvider {
  readonly name: string;
  judge(request: JudgmentRequest): Promise<{ passed: boolean; message: string }>;
}
