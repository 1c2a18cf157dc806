import type { DeploymentPageRepository } from '../store/index.js';
import type { WebhookService } from '../webhooks/types.js';
import type { ReplicaBasics } from './lease-keeper.js';
import {
  type LiveDeployment,
  liveFromRows,
  outcomeOf,
  type Parked,
  parkedOf,
  rememberRun,
} from './live-deployment.js';
import { type StepResult, step } from './machine.js';
import type { WakeScheduler } from './scheduler.js';
import type { TransitionWriter } from './transition-writer.js';
import { type Facts, isFinal, type RunOutcome } from './types.js';

/** Deployments resumed per round of queries at start-up. */
const RESUME_PAGE = 500;

/** Where resuming's time went (ms), and how many were parked at once: logged with the count. */
interface ResumeTimes {
  list: number;
  claim: number;
  read: number;
  runs: number;
  step: number;
  write: number;
  parked: number;
}

export interface ResumeOptions extends ReplicaBasics {
  pages: DeploymentPageRepository;
  webhooks: Pick<WebhookService, 'adoptMany'>;
  /** The deployments this replica drives, by id, and those parked (shared with the driving loop). */
  lives: Map<string, LiveDeployment>;
  parked: Map<string, Parked>;
  scheduler: WakeScheduler;
  writer: Pick<TransitionWriter, 'persistMany'>;
  /** The driving loop's own steps, so a resumed deployment goes on exactly as a driven one. */
  facts: (live: LiveDeployment) => Facts;
  kick: (live: LiveDeployment) => void;
  enqueue: (live: LiveDeployment, job: () => Promise<void>) => Promise<void>;
  act: (live: LiveDeployment, result: StepResult) => Promise<boolean>;
  advance: (live: LiveDeployment) => Promise<void>;
  /** Told once every page is resumed (the lease keeper starts looking for orphans then). */
  resumed: () => void;
  closed: () => boolean;
}

/**
 * Re-driving every unfinished deployment at start-up, a page of them at a time: `Engine.resume`.
 * A deployment with nothing to do is parked at once; the others are handed to the driving loop.
 */
export function createResumer(
  options: ResumeOptions,
): () => Promise<{ resumed: number; durationMs: number }> {
  const { repo, pages, webhooks, owner, leaseMs, clock, logger, lives, parked, scheduler } = options;
  const { facts, kick, enqueue, act, advance } = options;

  /**
   * Resumes one page of unfinished deployments with a handful of queries (claim, rows, runs, and
   * one transaction for the transitions the page needs), not several per deployment. Each is
   * stepped once from its stored state with its stored webhook outcomes: one with nothing to do
   * is parked at once (its spec is not kept); the others' transitions are written together, and
   * only then are their effects performed (the write-ahead rule) and they are driven on.
   */
  async function resumePage(ids: string[], took: ResumeTimes): Promise<number> {
    let t = performance.now();
    const lap = (what: keyof ResumeTimes) => {
      const at = performance.now();
      took[what] += at - t;
      t = at;
    };
    const now = clock();
    // Claimed and read in one (on PostgreSQL one statement: `read` is then part of `claim`).
    const loaded = (await pages.claimAndLoad(ids, owner, now, now + leaseMs)).filter(
      ({ row }) => !lives.has(row.id) && !parked.has(row.id),
    );
    const mine = loaded.map(({ row }) => row.id);
    lap('claim');
    // Its webhook runs become ours too: deadlines timed here, unknown outcomes called again.
    const runs = await webhooks.adoptMany(mine);
    lap('runs');
    const runsOf = new Map<string, RunOutcome[]>();
    for (const run of runs) {
      const list = runsOf.get(run.deploymentId);
      if (list) list.push(outcomeOf(run));
      else runsOf.set(run.deploymentId, [outcomeOf(run)]);
    }
    let resumed = 0;
    const moved: Array<{ live: LiveDeployment; result: StepResult }> = [];
    for (const { row, environments, lastSeq } of loaded) {
      if (isFinal(row.status) || row.status === 'QUEUED' || lives.has(row.id) || parked.has(row.id)) continue;
      const live = liveFromRows(row, environments, lastSeq);
      for (const run of runsOf.get(row.id) ?? []) rememberRun(live, run);
      resumed++;
      const result = step(live.spec, live.state, facts(live));
      if (result.changed) moved.push({ live, result });
      else if (result.effects.length === 0 && !isFinal(result.status)) {
        // Exactly what `advance` would do with it: nothing but set its wake-up.
        scheduler.set(row.id, result.wakeAt);
        parked.set(row.id, parkedOf(live));
      } else {
        lives.set(row.id, live);
        kick(live);
      }
    }
    lap('step');
    took.parked += loaded.length - moved.length;
    if (moved.length === 0) return resumed;
    const oks = await options.writer.persistMany(
      moved.map(({ live, result }) => ({
        live,
        state: result.state,
        status: result.status,
        events: result.events,
        wakeAt: result.wakeAt,
      })),
    );
    lap('write');
    for (const [i, { live, result }] of moved.entries()) {
      if (!oks[i] || options.closed()) continue;
      lives.set(live.id, live);
      // Then as `advance` goes on after a write: act, step again while acting taught something.
      void enqueue(live, async () => {
        if (await act(live, result)) await advance(live);
      });
    }
    return resumed;
  }

  return async function resume() {
    const began = Date.now();
    const ids = await repo.unfinishedIds();
    let resumed = 0;
    const took: ResumeTimes = {
      list: Date.now() - began,
      claim: 0,
      read: 0,
      runs: 0,
      step: 0,
      write: 0,
      parked: 0,
    };
    for (let i = 0; i < ids.length && !options.closed(); i += RESUME_PAGE) {
      resumed += await resumePage(ids.slice(i, i + RESUME_PAGE), took);
    }
    options.resumed();
    for (const k of Object.keys(took) as Array<keyof ResumeTimes>) took[k] = Math.round(took[k]);
    logger.info({ resumed, durationMs: Date.now() - began, ...took }, 'deployments resumed');
    return { resumed, durationMs: Date.now() - began };
  };
}
