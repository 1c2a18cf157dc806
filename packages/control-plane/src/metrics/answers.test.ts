import { describe, expect, it } from 'vitest';
import { isBorealisError } from '../errors.js';
import { promQlDuration } from './analysis-variables.js';
import { prometheusRequest, prometheusValue } from './prometheus.js';
import { compileProvider, parseJsonPath, providerView } from './provider-config.js';
import { webValue } from './web.js';

const answer = (body: unknown, status = 200) => ({
  status,
  contentType: 'application/json',
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const vector = (...values: string[]) => ({
  status: 'success',
  data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { pod: `p${i}` }, value: [1, v] })) },
});

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isBorealisError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a failure');
}

describe('Prometheus answers: exactly one number, or a failure that says why', () => {
  it('reads one series and a scalar', () => {
    expect(prometheusValue(answer(vector('0.25')))).toBe(0.25);
    expect(
      prometheusValue(answer({ status: 'success', data: { resultType: 'scalar', result: [1, '42'] } })),
    ).toBe(42);
    expect(prometheusValue(answer(vector('+Inf')))).toBe(Number.POSITIVE_INFINITY);
  });
  it('several series: says how many and to aggregate', () => {
    const f = failure(() => prometheusValue(answer(vector('1', '2', '3'))));
    expect(f.code).toBe('BRL_ERR_METRIC_NOT_A_NUMBER');
    expect(f.message).toContain('returned 3 series: aggregate them, e.g. avg(...)');
    expect(f.message).toContain('pod="p0"');
  });
  it('no series, NaN, a range vector, a string: each says what came back', () => {
    expect(failure(() => prometheusValue(answer(vector()))).message).toBe('returned no data');
    expect(failure(() => prometheusValue(answer(vector('NaN')))).message).toContain('returned NaN');
    expect(
      failure(() =>
        prometheusValue(answer({ status: 'success', data: { resultType: 'matrix', result: [] } })),
      ).message,
    ).toContain('range vector');
    expect(
      failure(() =>
        prometheusValue(answer({ status: 'success', data: { resultType: 'string', result: [1, 'x'] } })),
      ).message,
    ).toContain('string');
  });
  it("Prometheus' own error is the message", () => {
    const f = failure(() =>
      prometheusValue(
        answer(
          { status: 'error', errorType: 'bad_data', error: 'parse error at char 5: unexpected "}"' },
          400,
        ),
      ),
    );
    expect(f.code).toBe('BRL_ERR_METRIC_QUERY_FAILED');
    expect(f.message).toBe('Prometheus answered 400 bad_data: parse error at char 5: unexpected "}"');
  });
  it('an answer that is not Prometheus says so and points at baseUrl', () => {
    const f = failure(() =>
      prometheusValue({ status: 404, contentType: 'text/html', body: '<h1>Not Found</h1>' }),
    );
    expect(f.code).toBe('BRL_ERR_METRIC_QUERY_FAILED');
    expect(f.message).toContain('HTTP 404');
    expect(f.message).toContain('baseUrl');
  });
  it('asks an instant query at the end of the window, the query URL-encoded', () => {
    const r = prometheusRequest('http://prom:9090', 'sum(rate(x{a="b"}[30s]))', 1_700_000_000_500);
    expect(r.url).toBe(
      'http://prom:9090/api/v1/query?query=sum(rate(x%7Ba%3D%22b%22%7D%5B30s%5D))&time=1700000000.500',
    );
  });
});

describe('web answers and JSONPath', () => {
  it('follows names and indexes', () => {
    expect(parseJsonPath('$.data.items[0]["error rate"]')).toEqual(['data', 'items', 0, 'error rate']);
    expect(
      webValue(answer({ data: { items: [{ 'error rate': 0.5 }] } }), '$.data.items[0]["error rate"]'),
    ).toBe(0.5);
    expect(webValue(answer({ v: '12.5' }), '$.v')).toBe(12.5);
  });
  it('refuses filters and wildcards', () => {
    expect(failure(() => parseJsonPath('$..value')).code).toBe('BRL_ERR_METRIC_PROVIDER_INVALID');
    expect(failure(() => parseJsonPath('$.items[*]')).code).toBe('BRL_ERR_METRIC_PROVIDER_INVALID');
  });
  it('missing, a list, not a number, an HTTP error: each a failure', () => {
    expect(failure(() => webValue(answer({}), '$.v')).message).toBe('returned no data at $.v');
    expect(failure(() => webValue(answer({ v: [1, 2] }), '$.v')).message).toContain('returned 2 values');
    expect(failure(() => webValue(answer({ v: 'high' }), '$.v')).message).toContain('not a number');
    expect(failure(() => webValue(answer('down', 503), '$.v')).message).toBe('answered HTTP 503: down');
  });
});

describe('provider definitions', () => {
  it('infers remoteNetworkAgent from an agent, trims the trailing slash', () => {
    const p = compileProvider('prom', {
      type: 'prometheus',
      baseUrl: 'http://prom:9090/',
      agentIdentifier: 'rna',
    });
    expect(p).toMatchObject({
      networkMode: 'remoteNetworkAgent',
      agentIdentifier: 'rna',
      baseUrl: 'http://prom:9090',
    });
  });
  it.each([
    [{ type: 'prometheus', baseUrl: '/prometheus' }, 'baseUrl', 'not an absolute URL'],
    [{ type: 'prometheus', baseUrl: 'ftp://prom' }, 'baseUrl', 'http:// or https://'],
    [{ type: 'prometheus', baseUrl: 'http://u:pw@prom' }, 'baseUrl', 'credentials'],
    [
      { type: 'prometheus', baseUrl: 'http://prom', networkMode: 'direct', agentIdentifier: 'a' },
      'agentIdentifier',
      'only used',
    ],
    [{ type: 'web', baseUrl: 'http://w' }, 'jsonPath', 'needs jsonPath'],
    [
      { type: 'prometheus', baseUrl: 'http://p', headers: [{ key: 'X', value: '{{context.a}}' }] },
      'headers[0].value',
      'only use {{secrets.NAME}}',
    ],
    [
      { type: 'prometheus', baseUrl: 'http://p', headers: [{ key: 'X', value: '{{#if}}' }] },
      'headers[0].value',
      'header X',
    ],
    [
      { type: 'prometheus', baseUrl: 'http://p', headers: [{ key: 'Bad Key', value: 'v' }] },
      'headers[0].key',
      'not an HTTP header name',
    ],
  ] as const)('refuses %j (field %s)', (input, field, text) => {
    try {
      compileProvider('p', input as never);
      throw new Error('accepted');
    } catch (err) {
      expect(isBorealisError(err, 'BRL_ERR_METRIC_PROVIDER_INVALID')).toBe(true);
      expect((err as { details: { field: string } }).details.field).toBe(field);
      expect((err as Error).message).toContain(text);
    }
  });
  it('shows secret templates as written and hides literal credentials', () => {
    const p = compileProvider('p', {
      type: 'prometheus',
      baseUrl: 'http://p',
      headers: [
        { key: 'Authorization', value: 'Bearer {{secrets.prom_token}}' },
        { key: 'X-Api-Key', value: 'literal-credential' },
        { key: 'X-Scope-OrgID', value: 'tenant-a' },
      ],
    });
    const view = providerView({ ...p, createdAt: 0, updatedAt: 0 });
    expect(view.headers).toEqual([
      { key: 'Authorization', value: 'Bearer {{secrets.prom_token}}' },
      { key: 'X-Api-Key', value: '****' },
      { key: 'X-Scope-OrgID', value: 'tenant-a' },
    ]);
  });
  it('PromQL durations', () => {
    expect([
      promQlDuration(30_000),
      promQlDuration(120_000),
      promQlDuration(7_200_000),
      promQlDuration(1_500),
    ]).toEqual(['30s', '2m', '2h', '1500ms']);
  });
});
