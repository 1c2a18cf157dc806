import { BorealisError } from '../errors.js';
import { parseJsonPath } from './provider-config.js';
import type { MetricAnswer, MetricRequest } from './transport.js';

/**
 * The `web` metric (as Argo Rollouts' web provider): the query renders to a path and query string
 * appended to the provider's baseUrl, the answer is JSON, and `jsonPath` says where the number is.
 */
export function webRequest(baseUrl: string, renderedPath: string): MetricRequest {
  if (!renderedPath.startsWith('/') && !renderedPath.startsWith('?')) {
    throw new BorealisError(
      'BRL_ERR_METRIC_QUERY_FAILED',
      `a web query must render to a path starting with / (or a query string starting with ?), got ${JSON.stringify(renderedPath.slice(0, 80))}`,
    );
  }
  return { url: `${baseUrl}${renderedPath}`, headers: [['accept', 'application/json']] };
}

const notANumber = (message: string) => new BorealisError('BRL_ERR_METRIC_NOT_A_NUMBER', message);

export function webValue(answer: MetricAnswer, jsonPath: string): number {
  if (answer.status < 200 || answer.status >= 300) {
    throw new BorealisError(
      'BRL_ERR_METRIC_QUERY_FAILED',
      `answered HTTP ${answer.status}: ${answer.body.slice(0, 300)}${answer.body.length > 300 ? '…' : ''}`,
      { details: { httpStatus: answer.status } },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(answer.body);
  } catch {
    throw new BorealisError(
      'BRL_ERR_METRIC_QUERY_FAILED',
      `the answer is not JSON: ${answer.body.slice(0, 200)}`,
    );
  }
  for (const part of parseJsonPath(jsonPath)) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) {
      throw notANumber(`returned no data at ${jsonPath}`);
    }
    value = (value as Record<string | number, unknown>)[part];
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw notANumber(`returned no data at ${jsonPath} (an empty list)`);
    throw notANumber(
      `returned ${value.length} values at ${jsonPath}: point jsonPath at one number, e.g. ${jsonPath}[0]`,
    );
  }
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : Number.NaN;
  if (!Number.isFinite(n) && !(typeof value === 'number')) {
    throw notANumber(`returned ${JSON.stringify(value)?.slice(0, 60)} at ${jsonPath}, not a number`);
  }
  return n;
}
