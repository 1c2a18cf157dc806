import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { DeploymentEventRow, Store, TransitionWrite } from '../store/index.js';
import { envRow, type LiveDeployment, summarise, topState } from './live-deployment.js';
import { type DeploymentStatus, type EngineEvent, isFinal, type StoredEvent } from './types.js';

/** The audit row a person's decision writes in the same transaction as its transition. */
export type TransitionAudit = NonNullable<TransitionWrite['audit']>;

export type EventListener = (event: StoredEvent, status: DeploymentStatus) => void;
export type EventObserver = (deploymentId: string, event: StoredEvent, status: DeploymentStatus) => void;

export interface TransitionWriterOptions {
  store: Store;
  /** This replica's lease owner id: a transition is written only while it holds the lease. */
  owner: string;
  clock: () => number;
  logger: Logger;
  /** The row moved under us (another replica took the deployment over): stop driving it. */
  onLost: (live: LiveDeployment) => void;
}

export interface TransitionWriter {
  /**
   * Writes one transition (deployment row, changed environment rows, events, optional audit row)
   * under the row's version, then tells the listeners. False when another replica changed the
   * row meanwhile (the deployment is then dropped through `onLost`).
   */
  persist(
    live: LiveDeployment,
    state: LiveDeployment['state'],
    status: DeploymentStatus,
    events: EngineEvent[],
    wakeAt: number | undefined,
    audit?: TransitionAudit,
  ): Promise<boolean>;
  /**
   * `persist` for many deployments in one transaction (resuming many at start-up): each write
   * keeps its own version check, and is told to its listeners only once all are stored. One
   * answer per transition, in order.
   */
  persistMany(transitions: readonly Transition[]): Promise<boolean[]>;
  subscribe(id: string, listener: EventListener): () => void;
  observe(listener: EventObserver): () => void;
}

/** One transition of one driven deployment, as `persistMany` takes it. */
export interface Transition {
  live: LiveDeployment;
  state: LiveDeployment['state'];
  status: DeploymentStatus;
  events: EngineEvent[];
  wakeAt: number | undefined;
}

/**
 * Transition writing: every change of a driven deployment goes through `persist`, which keeps the
 * optimistic version, the event sequence and the live event bus in step with the store.
 */
export function createTransitionWriter(options: TransitionWriterOptions): TransitionWriter {
  const { store, owner, clock, logger } = options;
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const observers = new Set<EventObserver>();

  function announce(live: LiveDeployment, event: StoredEvent, status: DeploymentStatus): void {
    bus.emit(live.id, event, status);
    for (const o of observers) {
      try {
        o(live.id, event, status);
      } catch (err) {
        logger.warn({ err, deploymentId: live.id }, 'an event observer failed');
      }
    }
  }

  /** The rows one transition writes. */
  function rowsOf(t: Transition, now: number, audit?: TransitionAudit) {
    const { live, state, status, wakeAt } = t;
    const all = [...t.events];
    if (status !== live.status) all.push({ type: 'deployment.status', data: { status } });
    const final = isFinal(status);
    if (final && !isFinal(live.status))
      all.push({ type: 'deployment.finished', data: { status, message: summarise(state, status) } });
    const environments = Object.values(state.environments)
      .map((e) => envRow(live.id, e))
      .filter((row) => live.written.get(row.name) !== row.state);
    const rows = all.map((e, i) => ({
      deployment_id: live.id,
      seq: live.seq + i + 1,
      at: now,
      type: e.type,
      environment: e.environment ?? null,
      data: JSON.stringify(e.data),
    }));
    const write: TransitionWrite = {
      id: live.id,
      expectedVersion: live.version,
      owner,
      patch: {
        status,
        state: topState(state),
        updated_at: now,
        wake_at: wakeAt ?? null,
        message: summarise(state, status),
        ...(final ? { finished_at: now, active_application: null } : {}),
      },
      environments,
      events: rows,
      ...(audit ? { audit } : {}),
    };
    return { write, environments, rows };
  }

  /** After the transaction committed: the live copy moves on, then the listeners hear of it. */
  function stored(t: Transition, ok: boolean, { environments, rows }: ReturnType<typeof rowsOf>): boolean {
    const { live, state, status } = t;
    if (!ok) {
      logger.warn(
        { deploymentId: live.id },
        'deployment was changed by another replica; no longer driving it',
      );
      options.onLost(live);
      return false;
    }
    live.version++;
    live.seq += rows.length;
    live.state = state;
    live.status = status;
    for (const row of environments) live.written.set(row.name, row.state);
    for (const row of rows) announce(live, toStored(row), status);
    return true;
  }

  return {
    async persist(live, state, status, events, wakeAt, audit) {
      const t = { live, state, status, events, wakeAt };
      const prepared = rowsOf(t, clock(), audit);
      const ok = await store.transaction(async (tx) => tx.deployments.writeTransition(prepared.write));
      return stored(t, ok, prepared);
    },

    async persistMany(transitions) {
      const now = clock();
      const prepared = transitions.map((t) => rowsOf(t, now));
      const oks = await store.transaction(async (tx) =>
        tx.deploymentPages.writeTransitions(prepared.map((p) => p.write)),
      );
      return transitions.map((t, i) => stored(t, oks[i] === true, prepared[i]!));
    },

    subscribe(id, listener) {
      bus.on(id, listener);
      return () => bus.off(id, listener);
    },

    observe(listener) {
      observers.add(listener);
      return () => observers.delete(listener);
    },
  };
}

/** An event row as stored, in the shape the API hands out. */
export function toStored(
  row:
    | DeploymentEventRow
    | { seq: number; at: number; type: string; environment: string | null; data: string },
): StoredEvent {
  const e: StoredEvent = {
    seq: row.seq,
    at: row.at,
    type: row.type,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
  if (row.environment) e.environment = row.environment;
  return e;
}
