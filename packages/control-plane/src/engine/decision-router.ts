import type { DeploymentView } from '@borealis/deploy-spec';
import { forbidden } from '../access/index.js';
import { BorealisError } from '../errors.js';
import type { DeploymentRepository } from '../store/index.js';
import { applyDecision, type Decision } from './decisions.js';
import type { LiveDeployment } from './live-deployment.js';
import type { TransitionWriter } from './transition-writer.js';
import { isFinal } from './types.js';

/** What the engine needs from the cluster; the embedded default has none. */
export interface EnginePeers {
  /** Applies a person's decision on the replica `owner`, which drives the deployment. */
  decide(owner: string, deploymentId: string, decision: Omit<Decision, 'now'>): Promise<DeploymentView>;
}

export interface DecisionRouterOptions {
  repo: DeploymentRepository;
  /** This replica's lease owner id. */
  owner: string;
  clock: () => number;
  /** Other replicas (scale-out): who to ask when a decision is for a deployment one of them drives. */
  peers?: EnginePeers | undefined;
  lives: Map<string, LiveDeployment>;
  load: (id: string) => Promise<LiveDeployment | undefined>;
  /** Runs `fn` in the deployment's queue, after what is already under way. */
  enqueue: (live: LiveDeployment, fn: () => Promise<void>) => Promise<void>;
  persist: TransitionWriter['persist'];
  /** Decides again once a decision is stored. */
  advance: (live: LiveDeployment) => Promise<void>;
  view: (id: string) => Promise<DeploymentView | undefined>;
}

export type DecisionRouter = (id: string, decision: Omit<Decision, 'now'>) => Promise<DeploymentView>;

/**
 * People's decisions (approve, reject, rollback, roll forward, cancel) routed to where they can be
 * applied: here when this replica drives the deployment, straight to the store when it waits in
 * the queue (only a cancel fits), else to the replica that drives it.
 */
export function createDecisionRouter(options: DecisionRouterOptions): DecisionRouter {
  const { repo, owner, clock, lives, load, enqueue, persist, advance, view } = options;

  const notDriven = (id: string) =>
    new BorealisError(
      'BRL_ERR_DEPLOYMENT_NOT_DRIVEN',
      `Deployment ${id} is driven by another replica; try again`,
    );

  /** Not driven here: ended, queued, or driven by a peer. */
  async function elsewhere(id: string, d: Omit<Decision, 'now'>): Promise<DeploymentView> {
    const found = await repo.get(id);
    if (!found) throw new BorealisError('BRL_ERR_DEPLOYMENT_NOT_FOUND', `No deployment ${id}`);
    if (isFinal(found.row.status)) {
      throw new BorealisError(
        'BRL_ERR_DECISION_CONFLICT',
        `Deployment ${id} has already ended ${found.row.status}; nothing is waiting for a decision`,
        {
          details: { deploymentId: id, status: found.row.status },
        },
      );
    }
    if (found.row.status === 'QUEUED') {
      if (d.action !== 'cancel')
        throw new BorealisError(
          'BRL_ERR_DECISION_CONFLICT',
          `Deployment ${id} is QUEUED; it can only be cancelled`,
        );
      await repo.cancelQueued(id, clock(), `cancelled by ${d.who} while queued`);
      await repo.insertAudit({
        who: d.who,
        action: 'cancel',
        deploymentId: id,
        at: clock(),
        details: { while: 'QUEUED' },
        ...auditActor(d),
      });
      return (await view(id))!;
    }
    // Reached when our claim failed: the lease is another replica's and has not lapsed (its row's
    // own expiry may have passed: its replica lease renews it, see the store's `leaseFree`).
    const driver = found.row.lease_owner;
    if (options.peers && driver && driver !== owner) {
      return options.peers.decide(driver, id, d);
    }
    throw notDriven(id);
  }

  return async (id, d) => {
    let live = lives.get(id) ?? (await load(id));
    // Parked again while it was being read (nothing was under way): read it once more. Once the
    // decision is in its queue it is not parked.
    while (live?.parked) live = lives.get(id) ?? (await load(id));
    if (!live) return elsewhere(id, d);
    let refusal: BorealisError | undefined;
    await enqueue(live, async () => {
      const state = structuredClone(live.state);
      const now = clock();
      const result = applyDecision(live.spec, state, { ...d, now });
      if (!result.ok) {
        refusal =
          'conflict' in result
            ? new BorealisError('BRL_ERR_DECISION_CONFLICT', `Cannot ${d.action}: ${result.conflict}`, {
                details: { deploymentId: id, environment: d.environment ?? null, action: d.action },
              })
            : 'forbidden' in result
              ? forbidden(
                  { name: d.who, roles: Array.isArray(d.roles) ? [...d.roles] : [] },
                  result.forbidden.requiredRoles,
                  result.forbidden.what,
                )
              : new BorealisError('BRL_ERR_BAD_REQUEST', result.notFound);
        return;
      }
      const decided = result.events.find((e) => e.type.startsWith('decision.'));
      const location = decided?.data.location;
      const ok = await persist(live, state, live.status, result.events, undefined, {
        who: d.who,
        action: d.action,
        deploymentId: id,
        ...(d.environment ? { environment: d.environment } : {}),
        at: now,
        details: typeof location === 'string' ? { location } : {},
        ...auditActor(d),
      });
      if (!ok) {
        refusal = notDriven(id);
        return;
      }
      await advance(live);
    });
    if (refusal) throw refusal;
    return (await view(id))!;
  };
}

/** The audit columns a person's decision carries besides who. */
function auditActor(d: Omit<Decision, 'now'>): { reason?: string; source?: string; tokenId?: string | null } {
  return {
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.source ? { source: d.source } : {}),
    ...(d.tokenId !== undefined ? { tokenId: d.tokenId } : {}),
  };
}
