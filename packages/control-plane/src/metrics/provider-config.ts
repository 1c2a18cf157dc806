import type { MetricProviderView } from '@borealis/deploy-spec';
import { BorealisError } from '../errors.js';
import type { MetricProviderRecord } from '../store/index.js';
import { inspectTemplate } from '../templates/index.js';

export type { MetricProviderView } from '@borealis/deploy-spec';

export const METRIC_PROVIDER_TYPES = ['prometheus', 'web'] as const;
export type MetricProviderType = (typeof METRIC_PROVIDER_TYPES)[number];
export const METRIC_NETWORK_MODES = ['direct', 'remoteNetworkAgent'] as const;

/** Same form as the deploy file's names, so `metricProviderName: x` can name any provider. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const IDENTIFIER_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_HEADERS = 32;
export const DEFAULT_QUERY_TIMEOUT_SECONDS = 30;

/** What `PUT /api/v1/metric-providers/:name` accepts (its JSON schema says the same). */
export interface MetricProviderInput {
  type: MetricProviderType;
  baseUrl: string;
  networkMode?: 'direct' | 'remoteNetworkAgent';
  agentIdentifier?: string;
  headers?: Array<{ key: string; value: string }>;
  /** web: where the number is in the JSON answer, e.g. `$.data.errorRate`. */
  jsonPath?: string;
  /** How long one query may take (default 30 s). */
  timeoutSeconds?: number;
}

export const metricProviderBodySchema = {
  type: 'object',
  required: ['type', 'baseUrl'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: [...METRIC_PROVIDER_TYPES] },
    baseUrl: { type: 'string', minLength: 1, maxLength: 2048 },
    networkMode: { type: 'string', enum: [...METRIC_NETWORK_MODES] },
    agentIdentifier: { type: 'string', minLength: 1, maxLength: 128 },
    headers: {
      type: 'array',
      maxItems: MAX_HEADERS,
      items: {
        type: 'object',
        required: ['key', 'value'],
        additionalProperties: false,
        properties: {
          key: { type: 'string', minLength: 1, maxLength: 256 },
          value: { type: 'string', maxLength: 8192 },
        },
      },
    },
    jsonPath: { type: 'string', minLength: 1, maxLength: 512 },
    timeoutSeconds: { type: 'integer', minimum: 1, maximum: 300 },
  },
} as const;

export function validateProviderName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new BorealisError(
      'BRL_ERR_METRIC_PROVIDER_INVALID',
      `Metric provider name ${JSON.stringify(name.slice(0, 140))} is not valid: use 1 to 128 letters, digits, "-", "_" or ".", starting with a letter or digit (e.g. prometheus-prod)`,
      { details: { field: 'name' } },
    );
  }
  return name;
}

const invalid = (field: string, message: string) =>
  new BorealisError('BRL_ERR_METRIC_PROVIDER_INVALID', message, { details: { field } });

/** Checks a provider definition and returns it as stored; every refusal names the field and the fix. */
export function compileProvider(
  name: string,
  input: MetricProviderInput,
): Omit<MetricProviderRecord, 'createdAt' | 'updatedAt'> {
  validateProviderName(name);
  let url: URL;
  try {
    url = new URL(input.baseUrl);
  } catch {
    throw invalid(
      'baseUrl',
      `baseUrl ${JSON.stringify(input.baseUrl)} is not an absolute URL such as http://prometheus.internal:9090`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid('baseUrl', `baseUrl must be http:// or https://, not ${url.protocol}`);
  if (url.username || url.password)
    throw invalid(
      'baseUrl',
      'baseUrl must not carry credentials: put them in a secret and send them in a header, e.g. {"key": "Authorization", "value": "Bearer {{secrets.prom_token}}"}',
    );
  if (url.search || url.hash) throw invalid('baseUrl', 'baseUrl must not have a query string or fragment');
  const networkMode = input.networkMode ?? (input.agentIdentifier ? 'remoteNetworkAgent' : 'direct');
  if (input.agentIdentifier !== undefined) {
    if (networkMode !== 'remoteNetworkAgent')
      throw invalid('agentIdentifier', 'agentIdentifier is only used with networkMode remoteNetworkAgent');
    if (!IDENTIFIER_PATTERN.test(input.agentIdentifier))
      throw invalid(
        'agentIdentifier',
        `agentIdentifier ${JSON.stringify(input.agentIdentifier)} is not an agent identifier (letters, digits, "-", "_", ".")`,
      );
  }
  const headers = (input.headers ?? []).map((h, i) => {
    if (!HEADER_NAME.test(h.key))
      throw invalid(`headers[${i}].key`, `header key ${JSON.stringify(h.key)} is not an HTTP header name`);
    if (/[\r\n\0]/.test(h.value))
      throw invalid(`headers[${i}].value`, `the value of header ${h.key} must be one line`);
    const inspection = inspectTemplate(h.value);
    if (!inspection.ok)
      throw invalid(`headers[${i}].value`, `the value of header ${h.key}: ${inspection.problem.message}`);
    const other = inspection.variables.find((v) => v.root !== 'secrets' || v.segments !== 2);
    if (other)
      throw invalid(
        `headers[${i}].value`,
        `the value of header ${h.key} uses {{${other.path}}}; provider headers may only use {{secrets.NAME}}`,
      );
    return { key: h.key, value: h.value };
  });
  const settings: Record<string, unknown> = {};
  if (input.type === 'web') {
    if (!input.jsonPath)
      throw invalid(
        'jsonPath',
        'a web provider needs jsonPath: where the number is in the JSON answer, e.g. $.data.value',
      );
    parseJsonPath(input.jsonPath);
    settings.jsonPath = input.jsonPath;
  } else if (input.jsonPath !== undefined) {
    throw invalid('jsonPath', 'jsonPath is only used by type web');
  }
  if (input.timeoutSeconds !== undefined) settings.timeoutSeconds = input.timeoutSeconds;
  // The URL as written, without a trailing slash: paths are appended to it.
  const baseUrl = input.baseUrl.replace(/\/+$/, '');
  return {
    name,
    type: input.type,
    baseUrl,
    networkMode,
    ...(input.agentIdentifier !== undefined ? { agentIdentifier: input.agentIdentifier } : {}),
    headers,
    settings,
  };
}

/**
 * `$.a.b[0]["c d"]`: the JSONPath subset a number's place needs (names and indexes, no filters
 * or wildcards: a provider must point at one value).
 */
export function parseJsonPath(path: string): Array<string | number> {
  const bad = () =>
    invalid(
      'jsonPath',
      `jsonPath ${JSON.stringify(path)} is not supported: write $.field.sub[0] (names and list indexes only)`,
    );
  if (!path.startsWith('$')) throw bad();
  const parts: Array<string | number> = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\['([^']*)'\]/y;
  let i = 1;
  while (i < path.length) {
    re.lastIndex = i;
    const m = re.exec(path);
    if (!m) throw bad();
    if (m[1] !== undefined) parts.push(m[1]);
    else if (m[2] !== undefined) parts.push(Number(m[2]));
    else if (m[3] !== undefined) parts.push(JSON.parse(`"${m[3]}"`) as string);
    else parts.push(m[4] ?? '');
    i = re.lastIndex;
  }
  return parts;
}

const CREDENTIAL_HEADER =
  /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token)$|token|secret|key/i;

export function providerView(p: MetricProviderRecord): MetricProviderView {
  return {
    name: p.name,
    type: p.type,
    baseUrl: p.baseUrl,
    networkMode: p.networkMode,
    ...(p.agentIdentifier !== undefined ? { agentIdentifier: p.agentIdentifier } : {}),
    headers: p.headers.map((h) => ({
      key: h.key,
      // A value that names a secret shows the template; a credential written literally is not shown.
      value: !h.value.includes('{{') && CREDENTIAL_HEADER.test(h.key) ? '****' : h.value,
    })),
    ...(typeof p.settings.jsonPath === 'string' ? { jsonPath: p.settings.jsonPath } : {}),
    timeoutSeconds:
      typeof p.settings.timeoutSeconds === 'number'
        ? p.settings.timeoutSeconds
        : DEFAULT_QUERY_TIMEOUT_SECONDS,
    createdAt: new Date(p.createdAt).toISOString(),
    updatedAt: new Date(p.updatedAt).toISOString(),
  };
}
