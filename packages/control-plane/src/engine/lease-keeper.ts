import type { Logger } from 'pino';
import type { DeploymentEnvironmentRow, DeploymentRepository, DeploymentRow } from '../store/index.js';
import type { WebhookService } from '../webhooks/types.js';
import { type LiveDeployment, liveFromRows } from './live-deployment.js';
import { isFinal } from './types.js';

/** What every part of a replica's engine is given: the deployments, its lease, clock and log. */
export interface ReplicaBasics {
  repo: DeploymentRepository;
  /** This replica's lease owner id. */
  owner: string;
  leaseMs: number;
  clock: () => number;
  logger: Logger;
}

export interface LeaseKeeperOptions extends ReplicaBasics {
  webhooks: Pick<WebhookService, 'adopt'>;
  /** The deployments this replica drives, by id (shared with the driving loop). */
  lives: Map<string, LiveDeployment>;
  /** True when the deployment is driven here (live or parked). */
  drives: (id: string) => boolean;
  /** A deployment driven here but parked, read again from the store (undefined when not parked). */
  wake: (id: string) => Promise<LiveDeployment | undefined>;
  /** Starts driving a deployment just loaded. */
  drive: (live: LiveDeployment) => void;
  /** A deployment is no longer driven here: forget its wake-up. */
  forget: (id: string) => void;
  /** True once the engine closes: no new deployment is taken over. */
  closed: () => boolean;
}

export interface LeaseKeeper {
  /**
   * Claims the lease of a deployment and loads it to drive it here; undefined when another
   * replica holds it, or it ended or waits in the queue.
   */
  load(id: string): Promise<LiveDeployment | undefined>;
  /**
   * Drives a deployment this replica has just inserted with its lease: from the rows as written
   * (nothing to read back, and a new deployment has no webhook runs to adopt).
   */
  driveNew(row: DeploymentRow, environments: DeploymentEnvironmentRow[], seq: number): LiveDeployment;
  /** Stops driving a deployment (it ended, or another replica took it over). */
  drop(live: LiveDeployment): void;
  /** From now on look for orphaned deployments too (after the first resume). */
  resumed(): void;
  /** Stops renewing and releases every lease so another replica can take over at once. */
  release(): Promise<void>;
}

/**
 * Leases: a replica drives a deployment only while it holds its lease. The keeper renews ours
 * on a timer, takes over deployments whose driver died (its lease expired), and releases ours
 * on close.
 */
export function createLeaseKeeper(options: LeaseKeeperOptions): LeaseKeeper {
  const { repo, webhooks, owner, leaseMs, clock, logger, lives } = options;
  let resumedOnce = false;
  let leaseRound: Promise<void> | undefined;
  const renewTimer = setInterval(
    () => {
      if (leaseRound) return;
      leaseRound = leaseWork().finally(() => {
        leaseRound = undefined;
      });
    },
    Math.max(500, leaseMs / 3),
  );
  renewTimer.unref();

  /**
   * Keeps our leases, and takes over deployments whose driver died (its lease expired): every
   * replica looks, the store's conditional claim lets exactly one win.
   */
  async function leaseWork(): Promise<void> {
    try {
      await repo.renewLeases(owner, clock() + leaseMs);
    } catch (err) {
      logger.warn({ err }, 'lease renewal failed');
      return;
    }
    if (!resumedOnce || options.closed()) return;
    try {
      for (const id of await repo.orphanedIds(clock())) {
        if (options.closed()) return;
        if (options.drives(id)) continue;
        const live = await load(id);
        if (live) logger.info({ deploymentId: id }, 'took over a deployment whose lease expired');
      }
    } catch (err) {
      logger.warn({ err }, 'looking for orphaned deployments failed');
    }
  }

  async function load(id: string): Promise<LiveDeployment | undefined> {
    const existing = lives.get(id) ?? (await options.wake(id));
    if (existing) return existing;
    const now = clock();
    if (!(await repo.claim(id, owner, now, now + leaseMs))) return undefined;
    const found = await repo.get(id);
    if (!found || isFinal(found.row.status) || found.row.status === 'QUEUED') return undefined;
    const live = liveFromRows(found.row, found.environments, await repo.lastSeq(id));
    lives.set(id, live);
    // Its webhook runs become ours too: deadlines timed here, unknown outcomes called again.
    await webhooks.adopt(id);
    options.drive(live);
    return live;
  }

  return {
    load,
    driveNew(row, environments, seq) {
      const live = liveFromRows(row, environments, seq);
      lives.set(row.id, live);
      options.drive(live);
      return live;
    },
    drop(live) {
      live.dropped = true;
      if (lives.get(live.id) === live) lives.delete(live.id);
      options.forget(live.id);
    },
    resumed() {
      resumedOnce = true;
    },
    async release() {
      clearInterval(renewTimer);
      await leaseRound;
      await repo.releaseLeases(owner).catch(() => undefined);
    },
  };
}
