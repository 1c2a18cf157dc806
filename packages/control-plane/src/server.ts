import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import { registerAgentCredentialRoutes } from './api/agent-credentials-routes.js';
import { registerAgentRoutes } from './api/agents-routes.js';
import { installErrorHandling } from './api/error-handling.js';
import { registerOpsRoutes } from './api/ops-routes.js';
import { registerSecretsRoutes } from './api/secrets-routes.js';
import { type CompiledOptions, type ControlPlaneOptions, compileOptions } from './config.js';
import { BorealisError } from './errors.js';
import { createAgentUpgradeHandler, RelayHub } from './relay/index.js';
import { createSecretsRepository, loadSecretKey, type SecretsRepository } from './secrets/index.js';
import { createStore, type Store } from './store/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the call (the API token's name), for the audit log. */
    identity?: { name: string };
  }
}

export interface ControlPlane {
  app: FastifyInstance;
  options: CompiledOptions;
  store: Store;
  hub: RelayHub;
  secrets: SecretsRepository;
  logger: Logger;
  /** Base URL it listens on (after `listen`). */
  url: string;
  /** Base URL callback URIs are built from. */
  publicUrl: string;
  /** Where the generated API token was written, when none was configured. */
  tokenFile: string | undefined;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface CreateControlPlaneOptions extends ControlPlaneOptions {
  logger?: Logger;
}

/** Paths anyone may call: probes, metrics, callbacks (their token is in the path). */
const PUBLIC_PREFIXES = ['/healthz', '/readyz', '/metrics', '/callbacks/'];

export async function createControlPlane(input: CreateControlPlaneOptions = {}): Promise<ControlPlane> {
  const options = compileOptions(input);
  const logger =
    input.logger ??
    pino({
      level: options.logLevel,
      base: { service: 'borealis-control-plane' },
      // Belt and braces: request logging never includes headers, but if a header object is ever
      // logged its credentials are masked.
      redact: {
        paths: ['*.headers.authorization', '*.headers.cookie', 'headers.authorization'],
        censor: '****',
      },
    });
  const store = await createStore({ databaseUrl: options.databaseUrl, logger });
  const bootstrap = await store.apiTokens.ensureBootstrapToken({
    envToken: options.apiToken,
    tokenFile: options.tokenFile,
  });
  const tokenFile = bootstrap.source === 'env' ? undefined : bootstrap.tokenFile;

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    disableRequestLogging: false,
    bodyLimit: 1024 * 1024,
    trustProxy: false,
  });
  const hub = new RelayHub({
    logger: logger.child({ component: 'relay' }),
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    agentMaxStreams: options.agentMaxStreams,
    maxStreams: options.maxStreams,
    windowBytes: options.streamWindowBytes,
  });
  // --- wiring: services (each concern adds its service here, and closes it in close()) ---------
  const secretKey = await loadSecretKey({
    envKey: options.secretKey,
    keyFile: options.secretKeyFile,
    logger,
  });
  const secrets = createSecretsRepository({ db: store.db, key: secretKey });
  // --- end wiring: services
  const upgrade = createAgentUpgradeHandler({
    hub,
    credentials: store.agentCredentials,
    logger: logger.child({ component: 'relay' }),
  });
  app.server.on('upgrade', upgrade.handler);

  installErrorHandling(app);
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const path = req.url.split('?')[0] ?? '';
    if (PUBLIC_PREFIXES.some((p) => path === p || path.startsWith(p))) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const identity = m?.[1] ? await store.apiTokens.verifyApiToken(m[1]) : null;
    if (!identity) {
      throw new BorealisError(
        'BRL_ERR_UNAUTHORIZED',
        tokenFile
          ? `Missing or invalid bearer token: send Authorization: Bearer <token>; this control plane's token is in ${tokenFile}`
          : 'Missing or invalid bearer token: send Authorization: Bearer <BOREALIS_API_TOKEN>',
      );
    }
    req.identity = identity;
  });

  // --- wiring: routes (each concern registers its own; keep one line per concern) ---------------
  registerOpsRoutes(app, { store, hub });
  registerAgentRoutes(app, { hub });
  registerAgentCredentialRoutes(app, { credentials: store.agentCredentials });
  registerSecretsRoutes(app, { secrets });
  // --- end wiring: routes

  let url = '';
  let publicUrl = options.publicUrl ?? '';
  const cp: ControlPlane = {
    app,
    options,
    store,
    hub,
    secrets,
    logger,
    get url() {
      return url;
    },
    get publicUrl() {
      return publicUrl;
    },
    tokenFile,
    async listen() {
      await app.listen({ host: options.host, port: options.port });
      const addr = app.server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;
      if (!options.publicUrl) publicUrl = url;
      logger.info({ url, publicUrl, database: store.location, tokenFile }, 'listening');
      return url;
    },
    async close() {
      hub.closeAll();
      upgrade.close();
      await app.close();
      await store.close();
    },
  };
  return cp;
}
