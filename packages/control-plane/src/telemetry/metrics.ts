import { FINAL_STATUSES } from '@borealis/deploy-spec';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine } from '../engine/index.js';
import type { RelayHub } from '../relay/index.js';
import type { Store } from '../store/index.js';
import type { WebhookService } from '../webhooks/types.js';

/** Paths probed or polled all the time: their requests are logged at debug, not info. */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The control plane's Prometheus series (`GET /metrics`): Node's process metrics and Borealis'
 * own — HTTP requests, deployments, webhook runs, callbacks, agents, the tunnel, analysis runs.
 * Counts that live in the store (deployments running, webhook runs waiting) are read at scrape
 * time, so they are right on every replica and after a restart. docs/grafana-dashboard.json
 * charts them.
 */
export function createMetrics(deps: {
  app: FastifyInstance;
  store: Store;
  hub: RelayHub;
  engine: Engine;
  webhooks: Pick<WebhookService, 'onSettled'>;
  logger: Logger;
}): Registry {
  const registry = new Registry();
  /** A counter with labels, in this registry. */
  const labelledCounter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  collectDefaultMetrics({ register: registry });
  const { store } = deps;

  // --- HTTP -------------------------------------------------------------------------------
  const httpRequests = labelledCounter(
    'borealis_http_requests_total',
    'HTTP requests answered, by method, route (the pattern, not the URL) and status',
    ['method', 'route', 'status'],
  );
  const httpDuration = new Histogram({
    name: 'borealis_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const callbacks = labelledCounter(
    'borealis_callbacks_total',
    'Webhook callbacks received: result accepted or refused, and the refusal reason (error code)',
    ['result', 'reason'],
  );
  deps.app.addHook('onSend', async (req, reply, payload) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (route.startsWith('/callbacks/') && req.method === 'POST') {
      if (reply.statusCode < 300) callbacks.inc({ result: 'accepted', reason: '' });
      else {
        let reason = `http_${reply.statusCode}`;
        if (typeof payload === 'string') {
          try {
            reason = (JSON.parse(payload) as { error?: { code?: string } }).error?.code ?? reason;
          } catch {
            // not JSON: the status says enough
          }
        }
        callbacks.inc({ result: 'refused', reason });
      }
    }
    return payload;
  });
  deps.app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = String(reply.statusCode);
    httpRequests.inc({ method: req.method, route, status });
    httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    // Probes, scrapes and reads (the web UI polls) at debug; what changes something at info.
    const quiet = QUIET.has(route) || req.method === 'GET' || req.method === 'HEAD';
    const fields = {
      reqId: req.id,
      method: req.method,
      route,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) req.log.warn(fields, 'request answered');
    else if (quiet) req.log.debug(fields, 'request answered');
    else req.log.info(fields, 'request answered');
  });

  // --- deployments ------------------------------------------------------------------------
  new Gauge({
    name: 'borealis_deployments',
    help: 'Deployments not finished yet, by status (from the store: the same on every replica)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await store.deployments.unfinishedCounts();
      this.reset();
      for (const s of ['QUEUED', 'RUNNING', 'PAUSED', 'AWAITING_APPROVAL']) this.set({ status: s }, 0);
      for (const c of counts) this.set({ status: c.status }, c.count);
    },
  });
  const finished = labelledCounter(
    'borealis_deployments_finished_total',
    'Deployments this replica saw finish, by outcome',
    ['outcome'],
  );
  const analysisRuns = labelledCounter(
    'borealis_analysis_runs_total',
    'Analysis judgment runs, by result (passed or failed)',
    ['result'],
  );
  for (const outcome of FINAL_STATUSES) finished.inc({ outcome }, 0);
  for (const result of ['passed', 'failed']) analysisRuns.inc({ result }, 0);
  const log = deps.logger;
  deps.engine.observe((deploymentId, e) => {
    const environment = e.environment;
    switch (e.type) {
      case 'deployment.finished':
        finished.inc({ outcome: String(e.data.status) });
        break;
      case 'item.judgment':
        analysisRuns.inc({ result: e.data.passed ? 'passed' : 'failed' });
        break;
      case 'environment.started':
        log.info({ deploymentId, environment }, 'environment started');
        break;
      case 'environment.rollingBack':
        log.info({ deploymentId, environment, reason: e.data.message }, 'environment rolling back');
        break;
      case 'environment.finished':
        (e.data.status === 'SUCCEEDED' ? log.info : log.warn).call(
          log,
          { deploymentId, environment, status: e.data.status, message: e.data.message },
          'environment finished',
        );
        break;
      default:
        if (e.type.startsWith('decision.'))
          log.info(
            { deploymentId, environment, decision: e.type.slice(9), who: e.data.who, reason: e.data.reason },
            'decision applied',
          );
    }
  });

  // --- webhook runs -----------------------------------------------------------------------
  const runs = labelledCounter(
    'borealis_webhook_runs_total',
    'Webhook runs settled, by outcome (succeeded, failed, cancelled, timed out…)',
    ['outcome'],
  );
  const callDuration = new Histogram({
    name: 'borealis_webhook_call_duration_seconds',
    help: 'Duration of each HTTP call a webhook run made (its attempts)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const waitDuration = new Histogram({
    name: 'borealis_webhook_wait_duration_seconds',
    help: 'From a webhook run’s first call to its settlement (the wait for the callback)',
    buckets: [1, 5, 15, 60, 300, 900, 3600, 14400, 86400],
    registers: [registry],
  });
  deps.webhooks.onSettled((run) => {
    runs.inc({ outcome: run.status });
    for (const a of run.attempts)
      if (typeof a.durationMs === 'number') callDuration.observe(a.durationMs / 1000);
    const first = run.attempts[0]?.startedAt;
    if (first !== undefined)
      waitDuration.observe(Math.max(0, ((run.callback?.receivedAt ?? Date.now()) - first) / 1000));
  });
  new Gauge({
    name: 'borealis_webhook_runs_in_flight',
    help: 'Webhook runs not settled yet (calling, or waiting for their callback), from the store',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await store.webhookRuns.countByStatus(['pending', 'awaiting_callback']);
      this.reset();
      this.set({ status: 'pending' }, 0);
      this.set({ status: 'awaiting_callback' }, 0);
      for (const c of counts) this.set({ status: c.status }, c.count);
    },
  });

  // --- agents and the tunnel --------------------------------------------------------------
  const hub = deps.hub;
  new Gauge({
    name: 'borealis_agent_connections',
    help: 'Agent connections on this replica',
    registers: [registry],
    collect() {
      this.set(hub.connectionCount);
    },
  });
  new Gauge({
    name: 'borealis_agents_connected',
    help: 'Distinct agent identifiers with at least one connection on this replica',
    registers: [registry],
    collect() {
      this.set(hub.list().length);
    },
  });
  new Gauge({
    name: 'borealis_relay_streams_in_flight',
    help: 'Dispatches in flight through agents on this replica',
    registers: [registry],
    collect() {
      this.set(hub.streamsInFlight);
    },
  });
  new Counter({
    name: 'borealis_tunnel_streams_total',
    help: 'Streams (calls) opened through this replica’s agents',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(hub.streamsTotal);
    },
  });
  new Counter({
    name: 'borealis_tunnel_bytes_total',
    help: 'WebSocket bytes between this replica and its agents, by direction (to_agent, from_agent)',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ direction: 'to_agent' }, hub.bytesToAgents);
      this.inc({ direction: 'from_agent' }, hub.bytesFromAgents);
    },
  });
  const dispatch = new Histogram({
    name: 'borealis_dispatch_duration_seconds',
    help: 'From a dispatch to an agent until the answer’s head, by outcome (ok or the error code)',
    labelNames: ['outcome'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  hub.onDispatched = (seconds, outcome) => dispatch.observe({ outcome }, seconds);
  return registry;
}
