import { BorealisError } from '../errors.js';
import type { MetricAnswer, MetricRequest } from './transport.js';

/**
 * Prometheus' HTTP API, instant queries: `GET <baseUrl>/api/v1/query?query=...&time=<end>`,
 * evaluated at the end of the judgment's window (so a run re-made after a restart asks about
 * the same moment). The expression must yield one number.
 */
export function prometheusRequest(baseUrl: string, query: string, atMs: number): MetricRequest {
  const url = `${baseUrl}/api/v1/query?query=${encodeURIComponent(query)}&time=${(atMs / 1000).toFixed(3)}`;
  return { url, headers: [['accept', 'application/json']] };
}

interface PromAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

const notANumber = (message: string) => new BorealisError('BRL_ERR_METRIC_NOT_A_NUMBER', message);

/** The one number of an answer, or an error whose message is Prometheus' own (or says what came back). */
export function prometheusValue(answer: MetricAnswer): number {
  let parsed: PromAnswer | undefined;
  try {
    parsed = JSON.parse(answer.body) as PromAnswer;
  } catch {
    parsed = undefined;
  }
  if (parsed?.status === 'error' || (answer.status >= 400 && parsed)) {
    throw new BorealisError(
      'BRL_ERR_METRIC_QUERY_FAILED',
      `Prometheus answered ${answer.status} ${parsed?.errorType ?? 'error'}: ${parsed?.error ?? answer.body.slice(0, 300)}`,
      { details: { httpStatus: answer.status } },
    );
  }
  if (!parsed || answer.status < 200 || answer.status >= 300) {
    throw new BorealisError(
      'BRL_ERR_METRIC_QUERY_FAILED',
      `the answer is not Prometheus' (HTTP ${answer.status}${answer.contentType ? `, ${answer.contentType}` : ''}): ${answer.body.slice(0, 300)}${answer.body.length > 300 ? '…' : ''}; check the provider's baseUrl`,
      { details: { httpStatus: answer.status } },
    );
  }
  const data = parsed.data;
  switch (data?.resultType) {
    case 'scalar':
      return sampleValue(data.result);
    case 'vector': {
      const series = Array.isArray(data.result)
        ? (data.result as Array<{ metric?: Record<string, string>; value?: unknown }>)
        : [];
      if (series.length === 0) throw notANumber('returned no data');
      if (series.length > 1) {
        const shown = series
          .slice(0, 3)
          .map((s) => labels(s.metric))
          .join(', ');
        throw notANumber(
          `returned ${series.length} series: aggregate them, e.g. avg(...) (${shown}${series.length > 3 ? ', …' : ''})`,
        );
      }
      return sampleValue(series[0]?.value);
    }
    case 'matrix':
      throw notANumber(
        'returned a range vector (a selector with [range] and no function): wrap it in a function, e.g. avg(avg_over_time(...[{{armory.promQlStepInterval}}]))',
      );
    default:
      throw notANumber(`returned a ${data?.resultType ?? 'missing'} result, not a number`);
  }
}

function sampleValue(sample: unknown): number {
  const raw = Array.isArray(sample) ? sample[1] : undefined;
  if (typeof raw !== 'string') throw notANumber('returned a sample without a value');
  if (raw === 'NaN') throw notANumber('returned NaN (no samples in the window, or 0/0)');
  const value =
    raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
  if (Number.isNaN(value)) throw notANumber(`returned ${JSON.stringify(raw.slice(0, 40))}, not a number`);
  return value;
}

function labels(metric: Record<string, string> | undefined): string {
  const entries = Object.entries(metric ?? {});
  return `{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}
