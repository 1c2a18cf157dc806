import type { AnalysisQuerySpec } from '@borealis/deploy-spec';
import type { Logger } from 'pino';
import type { JudgmentOutcome, JudgmentRequest, MetricJudge, QueryVerdict } from '../engine/index.js';
import { BorealisError, isBorealisError } from '../errors.js';
import type { Dispatcher } from '../relay/index.js';
import type { MetricProviderRecord, MetricProviderRepository } from '../store/index.js';
import {
  listTemplateVariables,
  maskSecrets,
  renderHeaderValue,
  renderTemplate,
  type TemplateVariables,
} from '../templates/index.js';
import { createSsrfGuard, type LookupAll } from '../webhooks/index.js';
import { analysisVariables } from './analysis-variables.js';
import { prometheusRequest, prometheusValue } from './prometheus.js';
import {
  compileProvider,
  DEFAULT_QUERY_TIMEOUT_SECONDS,
  type MetricProviderInput,
  type MetricProviderView,
  providerView,
  validateProviderName,
} from './provider-config.js';
import { createMetricTransport, type MetricRequest } from './transport.js';
import { webRequest, webValue } from './web.js';

export interface MetricsServiceDeps {
  providers: MetricProviderRepository;
  dispatcher: Dispatcher;
  secrets: { getValues(names: Iterable<string>): Promise<Map<string, string>> };
  /** BOREALIS_DIRECT_ALLOW: what `direct` providers may reach despite the SSRF guard. */
  directAllow: readonly string[];
  logger: Logger;
  lookup?: LookupAll;
  clock?: () => number;
}

export interface QueryResult {
  value: number;
  provider: string;
  /** The URL asked (secrets masked). */
  url: string;
  via?: string;
}

export interface MetricsService extends MetricJudge {
  put(
    name: string,
    input: MetricProviderInput,
  ): Promise<{ created: boolean; provider: MetricProviderView; warnings: string[] }>;
  get(name: string): Promise<MetricProviderView>;
  list(): Promise<MetricProviderView[]>;
  delete(name: string): Promise<void>;
  /**
   * One query now (or at `atMs`), rendered text as given: the number, or a BorealisError with the
   * provider's own message. `agentIdentifier` serves providers whose networkMode is
   * remoteNetworkAgent and that name no agent.
   */
  query(
    name: string,
    query: string,
    opts?: { atMs?: number; agentIdentifier?: string },
  ): Promise<QueryResult>;
  close(): Promise<void>;
}

export function createMetricsService(deps: MetricsServiceDeps): MetricsService {
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ component: 'metrics' });
  const transport = createMetricTransport({
    guard: createSsrfGuard(deps.directAllow),
    dispatcher: deps.dispatcher,
    ...(deps.lookup ? { lookup: deps.lookup } : {}),
  });

  async function provider(name: string): Promise<MetricProviderRecord> {
    const found = await deps.providers.get(name);
    if (!found) {
      const names = await deps.providers.names();
      throw new BorealisError(
        'BRL_ERR_METRIC_PROVIDER_NOT_FOUND',
        `No metric provider named "${name}" (${names.length ? `existing: ${names.join(', ')}` : 'none exist yet'}); register it with: borealis metric-providers set ${name} --type prometheus --url URL`,
        { details: { name, existing: names } },
      );
    }
    return found;
  }

  /** Renders header templates with the secrets they name; their values are masked in every message. */
  async function headers(
    p: MetricProviderRecord,
  ): Promise<{ headers: Array<[string, string]>; masks: string[] }> {
    const names = new Set<string>();
    for (const h of p.headers)
      for (const v of listTemplateVariables(h.value)) if (v.startsWith('secrets.')) names.add(v.slice(8));
    const values = names.size ? await deps.secrets.getValues(names) : new Map<string, string>();
    const secrets: Record<string, string> = Object.create(null);
    for (const [k, v] of values) secrets[k] = v;
    const rendered = p.headers.map((h): [string, string] => {
      try {
        return [h.key, renderHeaderValue(h.value, { secrets }, h.key)];
      } catch (err) {
        throw new BorealisError(
          'BRL_ERR_METRIC_PROVIDER_INVALID',
          `metric provider "${p.name}", header ${h.key}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    });
    return { headers: rendered, masks: [...values.values()] };
  }

  async function send(
    p: MetricProviderRecord,
    request: MetricRequest,
    agentFallback: string | undefined,
  ): Promise<{ value: number; via?: string }> {
    const { headers: extra, masks } = await headers(p);
    const timeoutMs =
      1000 *
      (typeof p.settings.timeoutSeconds === 'number'
        ? p.settings.timeoutSeconds
        : DEFAULT_QUERY_TIMEOUT_SECONDS);
    let agentIdentifier: string | undefined;
    if (p.networkMode === 'remoteNetworkAgent') {
      agentIdentifier = p.agentIdentifier ?? agentFallback;
      if (!agentIdentifier)
        throw new BorealisError(
          'BRL_ERR_METRIC_PROVIDER_INVALID',
          `metric provider "${p.name}" uses networkMode remoteNetworkAgent but names no agentIdentifier, and there is no target account to fall back on; set it: borealis metric-providers set ${p.name} ... --agent ID`,
        );
    }
    const displayUrl = maskSecrets(request.url, masks);
    try {
      const answer = await transport.send(
        { url: request.url, headers: [...request.headers, ...extra] },
        { timeoutMs, displayUrl, ...(agentIdentifier ? { agentIdentifier } : {}) },
      );
      const value =
        p.type === 'web' ? webValue(answer, String(p.settings.jsonPath)) : prometheusValue(answer);
      return { value, ...(answer.agent ? { via: `agent ${answer.agent.agentIdentifier}` } : {}) };
    } catch (err) {
      if (!isBorealisError(err)) throw err;
      // An answer may echo a header; never let a secret value reach a message.
      const message = maskSecrets(err.message, masks);
      throw message === err.message
        ? err
        : new BorealisError(err.code, message, { details: err.details ?? {} });
    }
  }

  function build(p: MetricProviderRecord, query: string, atMs: number): MetricRequest {
    return p.type === 'web' ? webRequest(p.baseUrl, query) : prometheusRequest(p.baseUrl, query, atMs);
  }

  async function judgeQuery(req: JudgmentRequest, q: AnalysisQuerySpec): Promise<QueryVerdict> {
    const limits = {
      ...(q.lowerLimit !== undefined ? { lowerLimit: q.lowerLimit } : {}),
      ...(q.upperLimit !== undefined ? { upperLimit: q.upperLimit } : {}),
    };
    const name = q.metricProviderName ?? req.step.metricProviderName ?? req.defaultMetricProviderName;
    const verdict = (passed: boolean, message: string, extra: Partial<QueryVerdict> = {}): QueryVerdict => ({
      query: q.name,
      ...(name ? { provider: name } : {}),
      ...extra,
      ...limits,
      passed,
      message,
    });
    if (!name)
      return verdict(
        false,
        `query ${q.name} names no metric provider (set metricProviderName or analysis.defaultMetricProviderName)`,
      );
    try {
      const p = await provider(name);
      const vars: TemplateVariables = {
        armory: analysisVariables(req),
        context: req.context,
      };
      const rendered = renderTemplate(q.queryTemplate, vars, p.type === 'web' ? 'uri' : 'text');
      const { value, via } = await send(p, build(p, rendered, req.window.end), req.account);
      const extra = { value, ...(via ? { via } : {}) };
      if (q.lowerLimit !== undefined && !(value >= q.lowerLimit))
        return verdict(false, `${q.name} = ${value}, below lowerLimit ${q.lowerLimit}`, extra);
      if (q.upperLimit !== undefined && !(value <= q.upperLimit))
        return verdict(false, `${q.name} = ${value}, above upperLimit ${q.upperLimit}`, extra);
      return verdict(true, `${q.name} = ${value}, within ${describeLimits(q)}`, extra);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!isBorealisError(err)) log.error({ err: message, query: q.name }, 'a query failed unexpectedly');
      return verdict(false, `${q.name} via ${name}: ${message}`);
    }
  }

  return {
    async put(name, input) {
      const compiled = compileProvider(name, input);
      const { created, provider: stored } = await deps.providers.put(compiled, clock());
      const warnings: string[] = [];
      const named = new Set<string>();
      for (const h of compiled.headers)
        for (const v of listTemplateVariables(h.value)) if (v.startsWith('secrets.')) named.add(v.slice(8));
      if (named.size) {
        const have = await deps.secrets.getValues(named);
        for (const n of named)
          if (!have.has(n))
            warnings.push(
              `secret "${n}" does not exist yet; queries fail until it does: borealis secrets set ${n}`,
            );
      }
      log.info(
        { provider: name, type: compiled.type, networkMode: compiled.networkMode, created },
        'metric provider saved',
      );
      return { created, provider: providerView(stored), warnings };
    },
    async get(name) {
      return providerView(await provider(validateProviderName(name)));
    },
    async list() {
      return (await deps.providers.list()).map(providerView);
    },
    async delete(name) {
      if (!(await deps.providers.delete(validateProviderName(name)))) await provider(name);
      log.info({ provider: name }, 'metric provider deleted');
    },
    providerNames: () => deps.providers.names(),
    async query(name, query, opts = {}) {
      const p = await provider(validateProviderName(name));
      const request = build(p, query, opts.atMs ?? clock());
      const { value, via } = await send(p, request, opts.agentIdentifier);
      const { masks } = await headers(p);
      return { value, provider: p.name, url: maskSecrets(request.url, masks), ...(via ? { via } : {}) };
    },
    async judge(req): Promise<JudgmentOutcome> {
      const queries = await Promise.all(req.queries.map((q) => judgeQuery(req, q)));
      const failed = queries.filter((q) => !q.passed);
      const passed = failed.length === 0 && queries.length > 0;
      return {
        passed,
        message: passed
          ? queries.map((q) => q.message).join('; ')
          : failed.length
            ? failed.map((q) => q.message).join('; ')
            : 'the analysis names no queries',
        queries,
      };
    },
    close: () => transport.close(),
  };
}

function describeLimits(q: AnalysisQuerySpec): string {
  return `[${q.lowerLimit ?? '-∞'}, ${q.upperLimit ?? '+∞'}]`;
}
