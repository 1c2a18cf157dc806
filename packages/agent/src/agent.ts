import { formatDuration } from '@borealis/protocol';
import type { Logger } from 'pino';
import { type AgentOptions, type CompiledAgentOptions, compileAgentOptions } from './agent-options.js';
import { AGENT_VERSION } from './agent-version.js';
import { Dialer, type DialerStateName } from './dialer.js';
import { createExecutor } from './executor.js';
import { guardedConnector } from './guarded-connector.js';
import { type HealthServer, startHealthServer } from './health-server.js';
import { checkKubernetesAccess, logKubernetesAccess } from './kubernetes-access.js';
import { createLogger } from './logger.js';
import { AgentMetrics } from './metrics.js';
import { Agent as UndiciAgent } from './undici.js';

export interface AgentStatus {
  state: DialerStateName;
  connected: boolean;
  sessionId: string | null;
  /** Connections that reached WELCOME since start. */
  connections: number;
  /** WebSocket dials since start, successful or not. */
  attempts: number;
  lastError: string | null;
  streamsInFlight: number;
  instanceId: string;
}

export interface RunningAgent {
  /** Resolves on the first WELCOME; rejects if the agent stops before ever connecting. */
  ready: Promise<void>;
  /** The bound health port (useful when BOREALIS_AGENT_HEALTH_PORT=0). */
  healthPort: number;
  metrics: AgentMetrics;
  options: CompiledAgentOptions;
  status(): AgentStatus;
  /** Finishes in-flight streams (up to the drain grace), closes the tunnel, then stops. */
  drain(): Promise<void>;
  /** Stops at once. */
  stop(): Promise<void>;
}

/** Starts the agent in this process: health server first, then the dialer. */
export async function startAgent(input: AgentOptions): Promise<RunningAgent> {
  const options = compileAgentOptions(input);
  const logger: Logger = options.logger ?? createLogger(options.logLevel);
  const metrics = new AgentMetrics();

  logger.info(
    {
      controlPlaneUrl: options.controlPlaneUrl.origin + options.controlPlaneUrl.pathname,
      identifier: options.identifier,
      instanceId: options.instanceId,
      version: AGENT_VERSION,
      allow: options.allowList.describe(),
      healthPort: options.healthPort,
      maxStreams: options.maxStreams,
      drainGrace: formatDuration(options.drainGraceMs),
      proxy: options.proxy ? options.proxy.host : null,
      kubernetes: options.kubernetes
        ? { source: options.kubernetes.source, server: options.kubernetes.server.origin }
        : null,
    },
    'starting',
  );
  if (options.allowList.isEmpty) {
    logger.warn(
      'BOREALIS_ALLOW is empty: every destination will be refused. List what the control plane may reach through this agent, e.g. BOREALIS_ALLOW=api.internal:443,10.0.0.0/8',
    );
  } else if (options.allowList.rules.some((r) => r.kind === 'any' && r.port === null)) {
    logger.warn(
      'BOREALIS_ALLOW contains "*": whoever controls the control plane can reach every host this agent can (cloud metadata addresses excepted)',
    );
  }

  const dispatcher = new UndiciAgent({
    connect: guardedConnector(options.allowList, options.lookup ? { lookup: options.lookup } : {}),
  });
  let health: HealthServer | undefined;
  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {});

  const dialer = new Dialer({
    options,
    logger,
    metrics,
    agentVersion: AGENT_VERSION,
    onStream: createExecutor({
      allowList: options.allowList,
      dispatcher,
      metrics,
      logger,
      ...(options.kubernetes ? { kubernetes: options.kubernetes } : {}),
    }),
    onConnected: () => resolveReady(),
    onRevoked: (reason) => rejectReady(new Error(`the agent's ${reason}; it will not connect`)),
  });

  try {
    health = await startHealthServer({
      host: options.healthHost,
      port: options.healthPort,
      metrics,
      logger,
      readiness: () => ({
        ready: metrics.connected === 1,
        sessionId: dialer.sessionId,
        lastError: dialer.lastError,
      }),
    });
  } catch (err) {
    await Promise.allSettled([dispatcher.close(), options.kubernetes?.close()]);
    throw err;
  }
  dialer.start();
  if (options.kubernetes) {
    // Said once at start, beside the connection: where this agent can deploy and where not.
    const k8s = options.kubernetes;
    void checkKubernetesAccess(k8s, options.kubernetesNamespaces).then((report) =>
      logKubernetesAccess(logger, report),
    );
  }

  let finished: Promise<void> | undefined;
  const shutdown = (how: () => Promise<void>) => {
    finished ??= (async () => {
      await how();
      rejectReady(new Error('the agent stopped before it connected'));
      await Promise.allSettled([health?.close(), dispatcher.destroy(), options.kubernetes?.close()]);
    })();
    return finished;
  };

  return {
    ready,
    healthPort: health.port,
    metrics,
    options,
    status: () => ({
      state: dialer.state,
      connected: metrics.connected === 1,
      sessionId: dialer.sessionId,
      connections: dialer.connections,
      attempts: dialer.attempts,
      lastError: dialer.lastError,
      streamsInFlight: dialer.streamsInFlight,
      instanceId: options.instanceId,
    }),
    drain: () => shutdown(() => dialer.drain(options.drainGraceMs)),
    stop: () => shutdown(() => dialer.stop()),
  };
}
