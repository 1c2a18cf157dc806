import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { cidrContains, parseCidr, parseIp } from '@borealis/protocol/net-guard';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { type RoutePermission, registerTokenRoutes } from './access/index.js';
import { registerAgentCredentialRoutes } from './api/agent-credentials-routes.js';
import { registerAgentRoutes } from './api/agents-routes.js';
import { registerApplicationRoutes } from './api/applications-routes.js';
import { registerCallbackRoutes } from './api/callback-routes.js';
import { registerDeploymentRoutes } from './api/deployments-routes.js';
import { installErrorHandling } from './api/error-handling.js';
import { registerMetricProviderRoutes } from './api/metric-providers-routes.js';
import { installOpenApi, type RegisteredRoute, registerOpenApiRoute } from './api/openapi.js';
import { registerOpsRoutes } from './api/ops-routes.js';
import { registerWebhookRunRoutes } from './api/run-routes.js';
import { installScopes } from './api/scopes.js';
import { registerSecretsRoutes } from './api/secrets-routes.js';
import { type AuditLog, createAuditLog, registerAuditRoutes } from './audit/index.js';
import { type Cluster, type ClusterBus, createCluster } from './cluster/index.js';
import {
  type CompiledControlPlaneOptions,
  type ControlPlaneOptions,
  compileControlPlaneOptions,
} from './control-plane-options.js';
import { createDrainSignal, type DrainSignal } from './drain.js';
import { createEngine, createSimulatedDriver, type Engine, outcomeOf } from './engine/index.js';
import { BorealisError } from './errors.js';
import { createDriverChoice, createKubernetesDriver } from './kubernetes/index.js';
import { createLogger, requestForLog } from './logger.js';
import { createMetricsService, type MetricsService } from './metrics/index.js';
import { CredentialGuard, createAgentUpgradeHandler, RelayHub } from './relay/index.js';
import { createSecretsRepository, loadSecretKey, type SecretsRepository } from './secrets/index.js';
import { createStore, type Store } from './store/index.js';
import { acquireSqliteLock, type SqliteLock } from './store/sqlite-lock.js';
import { createMetrics } from './telemetry/metrics.js';
import { registerUiRoutes } from './ui/index.js';
import { createWebhookService, type WebhookServiceWithCallbacks } from './webhooks/index.js';

export interface ControlPlane {
  app: FastifyInstance;
  options: CompiledControlPlaneOptions;
  store: Store;
  hub: RelayHub;
  secrets: SecretsRepository;
  /** Who did what: modules with admin routes record their changes here. */
  audit: AuditLog;
  /** Every route with the permission it declared (a test checks each `/api/v1` one has one). */
  routes: readonly RoutePermission[];
  /** Webhook runs: what the engine starts, and where callbacks land. */
  webhooks: WebhookServiceWithCallbacks;
  /** Metric providers and the judgment of analysis steps. */
  metrics: MetricsService;
  /** Deployments: the state machine, re-driven from the store at start. */
  engine: Engine;
  /** The other replicas (scale-out); alone on an in-process bus in the embedded default. */
  cluster: Cluster;
  logger: Logger;
  /** Base URL it listens on (after `listen`). */
  url: string;
  /** Base URL callback URIs are built from. */
  publicUrl: string;
  /** Where the generated API token was written, when none was configured. */
  tokenFile: string | undefined;
  /** Set once a drain has started (readiness answers 503, new requests are refused). */
  drain: DrainSignal;
  /** Every route as registered, with the schema it declared (the OpenAPI test reads it). */
  routeSchemas: RegisteredRoute[];
  listen(): Promise<string>;
  /**
   * Stops: refuses new requests and agent connections, ends event streams with a final
   * `server.shuttingDown` event, lets webhook calls in flight finish, hands deployments over
   * (releases their leases), closes agents and the HTTP server. With `graceMs` (the program's
   * SIGTERM path) whatever is still open when it runs out is cut; without it, nothing waits on
   * webhook calls in flight (they are made again after a restart).
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

export interface CreateControlPlaneOptions extends ControlPlaneOptions {
  logger?: Logger;
  /** A cluster bus to join instead of NATS (tests put several control planes on one in-process bus). */
  clusterBus?: ClusterBus;
  /** How often live agent sessions are checked against their credentials (default 2 s; tests). */
  credentialSweepMs?: number;
  /** How often replicas announce themselves; silent 3 of these is gone (default 2 s; tests). */
  presenceIntervalMs?: number;
}

/** What still answers while a replica drains (readiness says 503 there). */
const DURING_DRAIN = new Set(['/healthz', '/readyz', '/metrics']);

export async function createControlPlane(input: CreateControlPlaneOptions = {}): Promise<ControlPlane> {
  // Every rule that follows from the options (replica id, the key a cluster needs) is applied there.
  const options = compileControlPlaneOptions(input, { sharedBus: input.clusterBus !== undefined });
  const { clustered, replicaId, database: target } = options;
  const logger = input.logger ?? createLogger({ level: options.logLevel, format: options.logFormat });
  let sqliteLock: SqliteLock | undefined;
  if (target.kind === 'sqlite' && target.path !== ':memory:') {
    mkdirSync(dirname(target.path), { recursive: true });
    const what = options.embeddedDatabase
      ? `The data folder ${options.dataDir}`
      : `The database ${target.path}`;
    sqliteLock = acquireSqliteLock(target.path, what);
  }
  const store = await createStore({ databaseUrl: options.databaseUrl, logger });
  if (store.kind === 'postgres' && options.secretKey === undefined) {
    logger.warn(
      'BOREALIS_SECRET_KEY is not set: secrets are encrypted with a key file in the data dir, which only this replica has. Any second replica on this database would fail to read them: set the same BOREALIS_SECRET_KEY on every replica before scaling out',
    );
  }
  // Credentials stored before they had to name identifiers serve none (fail closed): say so at
  // start, with the fix, rather than only when their agents are refused.
  const unbound = (await store.agentCredentials.list()).filter((c) => c.allowedIdentifiers.length === 0);
  if (unbound.length > 0) {
    logger.warn(
      { clientIds: unbound.map((c) => c.clientId) },
      `${unbound.length} agent credential(s) name no agent identifiers (created before credentials had to) and their agents are refused: give each the identifiers it should serve (borealis agent-credentials set-identifiers CLIENT_ID --identifier ID) or revoke it`,
    );
  }
  const bootstrap = await store.apiTokens.ensureBootstrapToken({
    envToken: options.apiToken,
    tokenFile: options.tokenFile,
  });
  const tokenFile = bootstrap.source === 'env' ? undefined : bootstrap.tokenFile;

  const drain = createDrainSignal();
  const app = Fastify({
    // Request logs name the path without its query (a `?token=` never reaches a log line); the
    // serializer is set on a child so it applies to whatever logger the caller gave us.
    loggerInstance: logger.child({}, { serializers: { req: requestForLog } }) as FastifyBaseLogger,
    // Our own hook answers 503 while draining, in the API's error shape.
    return503OnClosing: false,
    // One line per request from the metrics hook instead: info for changes, debug for probes and reads.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: trustedProxy(options.trustedProxies),
    // Secret names and agent identifiers are up to 128 characters; the default is 100.
    routerOptions: { maxParamLength: 256 },
  });
  // Before any route: it watches them being added.
  const routeSchemas = await installOpenApi(app);
  const hub = new RelayHub({
    logger: logger.child({ component: 'relay' }),
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    agentMaxStreams: options.agentMaxStreams,
    agentMaxBufferedBytes: options.agentMaxBufferedBytes,
    maxStreams: options.maxStreams,
    windowBytes: options.streamWindowBytes,
    replicaId,
    onChange: () => cluster.agentsChanged(),
  });
  // --- wiring: services (each concern adds its service here, and closes it in close()) ---------
  const secretKey = await loadSecretKey({
    envKey: options.secretKey,
    keyFile: options.secretKeyFile,
    logger,
  });
  const guard = new CredentialGuard({
    hub,
    credentials: store.agentCredentials,
    logger: logger.child({ component: 'relay' }),
    ...(input.credentialSweepMs ? { sweepIntervalMs: input.credentialSweepMs } : {}),
  });
  const cluster = await createCluster({
    onCredentialChanged: (clientId, revoked) => {
      void guard.changed(clientId, revoked);
    },
    natsUrl: options.natsUrl,
    ...(input.clusterBus ? { bus: input.clusterBus } : {}),
    replicaId,
    store,
    hub,
    logger,
    windowBytes: options.streamWindowBytes,
    maxStreams: options.maxStreams,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    ...(input.presenceIntervalMs ? { presenceIntervalMs: input.presenceIntervalMs } : {}),
  });
  const secrets = createSecretsRepository({ rows: store.sealedSecrets, key: secretKey });
  // A changed key must stop the start, not surface at the first webhook that needs a secret.
  await secrets.checkKey();
  const webhooks = createWebhookService({
    store,
    dispatcher: hub,
    secrets,
    logger,
    // Read at each call: without BOREALIS_PUBLIC_URL the public URL is known only after listen().
    options: {
      callbackTimeoutMs: options.callbackTimeoutMs,
      agentWaitMs: options.agentWaitMs,
      directAllow: options.directAllow,
      publicUrl: () => publicUrl,
    },
  });
  const metrics = createMetricsService({
    providers: store.metricProviders,
    dispatcher: hub,
    secrets,
    directAllow: options.directAllow,
    logger,
  });
  // A run settled here reaches the engine through the cluster's one channel of run outcomes,
  // which also carries it to the replica that drives its deployment if that is another one.
  webhooks.onSettled((run) => cluster.runSettled(outcomeOf(run)));
  const driver = createDriverChoice({
    mode: options.targetDriver,
    kubernetes: createKubernetesDriver({
      rollouts: store.kubernetesRollouts,
      dispatcher: hub,
      logger: logger.child({ component: 'kubernetes' }),
    }),
    simulated: createSimulatedDriver(store.simulatedTargets),
    choices: store.targetDrivers,
    dispatcher: hub,
    logger: logger.child({ component: 'engine' }),
  });
  const engine = createEngine({
    store,
    webhooks,
    driver,
    replicaId,
    leaseMs: options.leaseMs,
    ...(clustered ? { peers: cluster.peers } : {}),
    runOutcomes: cluster.runOutcomes,
    logger: logger.child({ component: 'engine' }),
    metricJudge: metrics,
  });
  cluster.bindEngine(engine);
  cluster.start();
  guard.start();
  // --- end wiring: services
  const upgrade = createAgentUpgradeHandler({
    hub,
    credentials: store.agentCredentials,
    logger: logger.child({ component: 'relay' }),
    guard,
  });
  app.server.on('upgrade', upgrade.handler);

  installErrorHandling(app, { notFound: false });
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const path = req.url.split('?')[0] ?? '';
    if (drain.draining && !DURING_DRAIN.has(path))
      throw new BorealisError(
        'BRL_ERR_SHUTTING_DOWN',
        'This control-plane replica is shutting down: retry on another replica or once it is back',
      );
  });
  // Every answer: no MIME sniffing; nothing an API or callback answers is cached anywhere (the
  // web UI's static files set their own policy).
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
  const audit = createAuditLog(store.auditLog);
  const registry = createMetrics({ app, store, hub, engine, webhooks, logger });

  // --- wiring: routes (each concern registers its own in its scope; one line per concern) -------
  const routes = await installScopes(app, {
    verify: (t) => store.apiTokens.verifyApiToken(t),
    public(pub) {
      registerOpsRoutes(pub, { store, hub, cluster, drain, registry });
      registerCallbackRoutes(pub, { webhooks, logger: logger.child({ component: 'webhooks' }) });
      registerUiRoutes(pub);
    },
    api(api) {
      registerOpenApiRoute(api);
      registerTokenRoutes(api, {
        tokens: store.apiTokens,
        audit,
        envTokenConfigured: bootstrap.source === 'env',
      });
      registerAuditRoutes(api, { audit });
      registerAgentRoutes(api, { hub });
      registerAgentCredentialRoutes(api, {
        credentials: store.agentCredentials,
        audit,
        // Here at once, and every other replica over the bus.
        onChanged: async (clientId, revoked) => {
          cluster.credentialChanged(clientId, revoked);
          await guard.changed(clientId, revoked);
        },
      });
      registerSecretsRoutes(api, { secrets, audit });
      registerWebhookRunRoutes(api, { webhooks });
      registerDeploymentRoutes(api, {
        engine,
        drain,
        replicaId,
        metricProviders: () => metrics.providerNames(),
      });
      registerApplicationRoutes(api, { engine, store });
      registerMetricProviderRoutes(api, { metrics, audit });
    },
  });
  // --- end wiring: routes

  let url = '';
  let publicUrl = options.publicUrl ?? '';
  let closing: Promise<void> | undefined;
  const cp: ControlPlane = {
    app,
    options,
    store,
    hub,
    secrets,
    audit,
    routes,
    webhooks,
    metrics,
    engine,
    cluster,
    logger,
    get url() {
      return url;
    },
    get publicUrl() {
      return publicUrl;
    },
    tokenFile,
    drain,
    routeSchemas,
    async listen() {
      try {
        await app.listen({ host: options.host, port: options.port });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new BorealisError(
            'BRL_ERR_CONFIG',
            code === 'EADDRINUSE'
              ? `${options.host}:${options.port} is already in use (another borealis-server?): stop what listens there, or set BOREALIS_PORT to a free port (0 picks one)`
              : `Cannot listen on ${options.host}:${options.port} (${code}): set BOREALIS_HOST to an address of this machine and BOREALIS_PORT to a port you may open (above 1023 without root)`,
            {
              details: { variable: code === 'EADDRNOTAVAIL' ? 'BOREALIS_HOST' : 'BOREALIS_PORT' },
              cause: err,
            },
          );
        }
        throw err;
      }
      const addr = app.server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;
      if (!options.publicUrl) {
        publicUrl = url;
        if (host === '0.0.0.0' || host === '[::]') {
          logger.warn(
            { publicUrl },
            `BOREALIS_PUBLIC_URL is not set: callback URIs will point at ${publicUrl}, which systems on other machines cannot reach; set it to the URL they use (e.g. the load balancer's)`,
          );
        }
      }
      logger.info({ url, publicUrl, database: store.location, tokenFile }, 'listening');
      // After listen: re-driven calls need the public URL for their callback URIs. Alone, every
      // unsettled run is ours; in a cluster a run is taken up with its deployment's lease
      // (engine -> webhooks.adopt), or two replicas would call the same webhook.
      if (!clustered) await webhooks.resume();
      // Then every unfinished deployment, where it stood (its webhook runs are known by now).
      await engine.resume();
      return url;
    },
    close(closeOptions = {}) {
      closing ??= (async () => {
        const graceMs = closeOptions.graceMs;
        const deadlineAt = Date.now() + (graceMs ?? 0);
        // Readiness turns 503, new requests are refused, event streams get their last event.
        guard.close();
        drain.start();
        upgrade.close();
        // Stop listening; requests under way finish.
        const httpClosed = app.close();
        // No new step starts; webhook calls in flight record their outcome; leases are released
        // so another replica takes the deployments over at once (or this one after a restart).
        await engine.close({ beforeRelease: () => webhooks.drain(deadlineAt) });
        await metrics.close();
        // Agents redial: another replica behind the same URL, or this one once it is back.
        hub.closeAll();
        await cluster.close();
        if (graceMs === undefined) await httpClosed;
        else {
          let timer: NodeJS.Timeout | undefined;
          const cut = new Promise<void>((r) => {
            timer = setTimeout(r, Math.max(0, deadlineAt - Date.now()));
          });
          if ((await Promise.race([httpClosed.then(() => 'closed'), cut])) !== 'closed') {
            logger.warn('shutdown grace period over: closing the connections still open');
            app.server.closeAllConnections();
            await httpClosed;
          }
          clearTimeout(timer);
        }
        await store.close();
        sqliteLock?.release();
      })();
      return closing;
    },
  };
  return cp;
}

/**
 * Fastify's `trustProxy`: believe `X-Forwarded-For` only from these addresses (each hop is
 * checked, right to left), with the same address parser as the rest of Borealis.
 */
function trustedProxy(entries: readonly string[]): false | ((address: string) => boolean) {
  const cidrs = entries.map((e) => parseCidr(e)).filter((c) => c !== undefined);
  if (cidrs.length === 0) return false;
  return (address) => {
    const ip = parseIp(address);
    return ip !== undefined && cidrs.some((c) => cidrContains(c, ip));
  };
}
