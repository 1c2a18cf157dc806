import type { Logger } from 'pino';
import type { Engine, EnginePeers, RunOutcome, RunOutcomes } from '../engine/index.js';
import type { RelayHub } from '../relay/index.js';
import type { Store } from '../store/index.js';
import type { BusHealth, BusKind, ClusterBus } from './bus.js';
import { loadClusterId } from './cluster-id.js';
import { DeploymentSignals } from './deployment-signals.js';
import { ReplicaForwarder } from './forwarding.js';
import { createInProcessBus } from './in-process-bus.js';
import { ClusterMessages, receiveMessage } from './messages.js';
import { createNatsBus } from './nats-bus.js';
import { ClusterPresence } from './presence.js';

/** Agent credential revocations and changes: every replica closes the sessions that used them. */
const CREDENTIALS_TOPIC = 'credentials';

export interface ClusterOptions {
  /** BOREALIS_NATS_URL; without it (and without `bus`) the replica is alone on an in-process bus. */
  natsUrl?: string | undefined;
  /** A bus to use instead (tests join several control planes on one in-process network). */
  bus?: ClusterBus;
  replicaId: string;
  store: Store;
  hub: RelayHub;
  logger: Logger;
  windowBytes: number;
  maxStreams: number;
  heartbeatIntervalMs: number;
  /** How often presence is announced; a replica silent for 3 of these is gone. Default 2 s. */
  presenceIntervalMs?: number;
  /** Another replica revoked or changed an agent credential: judge this replica's sessions. */
  onCredentialChanged?: (clientId: string, revoked: boolean) => void;
}

export interface ClusterHealth extends BusHealth {
  kind: BusKind;
}

/** This replica's membership of the cluster: presence, forwarding and deployment signals on one bus. */
export interface Cluster {
  readonly replicaId: string;
  readonly clusterId: string;
  readonly bus: ClusterBus;
  /** For the engine: decisions go to the replica that drives the deployment. */
  readonly peers: EnginePeers;
  /** A webhook run settled on this replica: the engine that drives its deployment hears it. */
  runSettled(outcome: RunOutcome): void;
  /** For the engine: the one channel of run outcomes, settled here or on another replica. */
  readonly runOutcomes: RunOutcomes;
  /** This replica's agent connections changed: announce them soon. */
  agentsChanged(): void;
  /** An agent credential was revoked or changed here: every other replica judges its sessions. */
  credentialChanged(clientId: string, revoked: boolean): void;
  /** Joins the engine: wake-ups and decisions from other replicas reach it. */
  bindEngine(engine: Engine): void;
  /** Starts announcing and answering; call once the hub and engine are wired. */
  start(): void;
  health(): ClusterHealth;
  close(): Promise<void>;
}

export async function createCluster(options: ClusterOptions): Promise<Cluster> {
  const logger = options.logger.child({ component: 'cluster', replicaId: options.replicaId });
  const clusterId = await loadClusterId(options.store.clusterSettings);
  const bus =
    options.bus ??
    (options.natsUrl
      ? await createNatsBus({ url: options.natsUrl, clusterId, replicaId: options.replicaId, logger })
      : createInProcessBus());
  const { hub, replicaId } = options;
  const forwarder = new ReplicaForwarder({
    bus,
    replicaId,
    local: (id, request) => hub.dispatchLocal(id, request),
    windowBytes: options.windowBytes,
    maxStreams: options.maxStreams,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    logger,
    heard: (from) => presence.heard(from),
  });
  const presence = new ClusterPresence({
    bus,
    replicaId,
    local: () => hub.localConnections(),
    ...(options.presenceIntervalMs ? { intervalMs: options.presenceIntervalMs } : {}),
    logger,
    onReplicaGone: (gone) => forwarder.replicaGone(gone),
  });
  let engine: Engine | undefined;
  const signals = new DeploymentSignals({
    bus,
    replicaId,
    logger,
    onWake: async (deploymentId) => {
      await engine?.recheck(deploymentId);
    },
    onDecision: async (m) => {
      if (!engine) throw new Error('this replica is starting');
      return engine.decide(m.deploymentId, m.decision);
    },
  });
  hub.attachRemote({
    connections: () => presence.remote(),
    forward: (to, agentIdentifier, head, body, signal) =>
      forwarder.forward(to, agentIdentifier, head, body, signal),
  });
  let started = false;
  let unsubscribeCredentials: (() => void) | undefined;
  // Wake-ups published while the bus was away may be lost for good (NATS core delivers at most
  // once): the store has every settled run, so the engine looks there once the bus is back.
  const offRestored = bus.onRestored(() => {
    if (!engine) return;
    engine
      .recheck()
      .then((n) => {
        if (n > 0)
          logger.info({ deployments: n }, 'bus back: deployments moved on from runs settled meanwhile');
      })
      .catch((err: unknown) => logger.warn({ err }, 'bus back: re-checking deployments failed'));
  });
  return {
    replicaId,
    clusterId,
    bus,
    peers: {
      decide: (owner, deploymentId, decision) => signals.decide(owner, { deploymentId, decision }),
    },
    runSettled: (outcome) => signals.runSettled(outcome),
    runOutcomes: signals,
    bindEngine(e) {
      engine = e;
    },
    start() {
      if (started) return;
      started = true;
      forwarder.start();
      signals.start();
      presence.start();
      unsubscribeCredentials = bus.subscribe(CREDENTIALS_TOPIC, (msg) => {
        const m = receiveMessage(ClusterMessages.credential, msg.data, logger);
        if (!m || m.from === replicaId) return;
        options.onCredentialChanged?.(m.clientId, m.revoked);
      });
      logger.info({ clusterId, bus: bus.kind }, 'joined the cluster');
    },
    health: () => ({ kind: bus.kind, ...bus.health() }),
    agentsChanged: () => presence.changed(),
    credentialChanged(clientId, revoked) {
      bus.publish(
        CREDENTIALS_TOPIC,
        ClusterMessages.credential.encode({ clientId, revoked, from: replicaId }),
      );
    },
    // Says goodbye first, so its agents vanish from other replicas' lists at once.
    async close() {
      unsubscribeCredentials?.();
      offRestored();
      presence.close();
      signals.close();
      forwarder.close();
      await bus.close();
    },
  };
}
