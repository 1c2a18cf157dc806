/**
 * Metric providers and the judgment of `analysis` steps: providers stored by name (Prometheus,
 * web), queries rendered with the sandboxed templates and Armory's window variables, carried
 * direct (SSRF guard) or through an agent, and judged against their limits. Fails closed: a query
 * that cannot be made or does not yield exactly one number is a failed run saying why.
 */
export { promQlDuration } from './analysis-variables.js';
export {
  createMetricsService,
  type MetricsService,
  type MetricsServiceDeps,
  type QueryResult,
} from './metrics-service.js';
export {
  METRIC_PROVIDER_TYPES,
  type MetricProviderInput,
  type MetricProviderView,
  metricProviderBodySchema,
} from './provider-config.js';
