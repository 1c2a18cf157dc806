import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { forbidden } from '../access/index.js';
import { auditView } from '../audit/index.js';
import { type DeploymentSpec, parseDeployFile, slugOf, webhookCallSites } from '../deployfile/index.js';
import { BorealisError, isBorealisError } from '../errors.js';
import { createDeploymentRepository, type DeploymentEventRow, type Store } from '../store/index.js';
import { mergeContext } from '../templates/index.js';
import type { WebhookService } from '../webhooks/types.js';
import { decide, initialState } from './decide.js';
import { applyDecision, type Decision } from './decisions.js';
import {
  envRow,
  factKey,
  type LiveDeployment,
  liveFromRows,
  rememberRun,
  summarise,
  topState,
  versionOf,
} from './live-deployment.js';
import type { JudgmentOutcome, MetricJudge } from './metric-provider.js';
import { WakeScheduler } from './scheduler.js';
import { createSimulatedDriver } from './simulated-driver.js';
import { buildView, type DeploymentListEntry, type DeploymentView, listEntryOf } from './status-view.js';
import { type StoredSpec, type TargetDriver, TargetDriverError } from './target-driver.js';
import { type DeploymentStatus, type Effect, type EngineEvent, type Facts, isFinal } from './types.js';

export interface EngineOptions {
  store: Store;
  webhooks: WebhookService;
  logger: Logger;
  /** Where versions run; default the `simulated` driver. */
  driver?: TargetDriver;
  /**
   * Judges `analysis` steps against the stored metric providers. Without one, every judgment run
   * fails saying so (an analysis never passes unjudged).
   */
  metricJudge?: MetricJudge;
  /** Stable id of this replica for leases; default host name + database. */
  replicaId?: string;
  leaseMs?: number;
  clock?: () => number;
  /** Other replicas (scale-out): who to ask when a decision is for a deployment one of them drives. */
  peers?: EnginePeers;
}

/** What the engine needs from the cluster; the embedded default has none. */
export interface EnginePeers {
  /** Applies a person's decision on the replica `owner`, which drives the deployment. */
  decide(owner: string, deploymentId: string, decision: Omit<Decision, 'now'>): Promise<DeploymentView>;
}

export interface StartInput {
  deployFile: string;
  /**
   * An already-validated spec to run instead of parsing `deployFile` (a rollback re-runs a stored
   * revision's spec).
   */
  spec?: DeploymentSpec;
  context?: Record<string, string>;
  /** Who asked (the API token's name). */
  createdBy: string;
  /** For the audit log: the caller's address and the token's id. */
  source?: string;
  tokenId?: string | null;
  fileName?: string;
  /** Contents of the deploy file's `manifests[].path` files, keyed by the path as written. */
  manifestFiles?: Record<string, string>;
}

export interface StoredEvent {
  seq: number;
  at: number;
  type: string;
  environment?: string;
  data: Record<string, unknown>;
}

export interface DeploymentListFilter {
  application?: string;
  /** At most this many, newest first (default 100, at most 1000). */
  limit?: number;
  statuses?: readonly string[];
  /** Created at or after (epoch ms). */
  since?: number;
  /** Ids starting with this: lowercase hex digits and `-`. */
  idPrefix?: string;
}

export interface Engine {
  readonly driverName: string;
  /** Validates, stores and starts (or queues) a deployment. */
  start(input: StartInput): Promise<{ deploymentId: string; status: DeploymentStatus }>;
  get(id: string): Promise<DeploymentView | undefined>;
  list(filter?: DeploymentListFilter): Promise<DeploymentListEntry[]>;
  /** A person's decision; refused with 409 when it does not fit what the environment does. */
  decide(id: string, decision: Omit<Decision, 'now'>): Promise<DeploymentView>;
  events(id: string, afterSeq: number): Promise<StoredEvent[]>;
  /** Live events of one deployment (after they are stored). */
  subscribe(id: string, listener: (event: StoredEvent, status: DeploymentStatus) => void): () => void;
  /** Every deployment's events as they are stored on this replica (metrics, lifecycle logs). */
  observe(listener: (deploymentId: string, event: StoredEvent, status: DeploymentStatus) => void): () => void;
  /** Re-drives every unfinished deployment from the store; call once after start. */
  resume(): Promise<{ resumed: number; durationMs: number }>;
  /**
   * Something about a deployment changed in the store on another replica (a webhook run settled):
   * if this replica drives it, re-evaluate now rather than at the next deadline.
   */
  wake(deploymentId: string, runId?: string): Promise<void>;
  /**
   * Re-reads the webhook runs of every deployment this replica drives and moves on those whose
   * runs settled without it being told (wake-ups lost while the cluster bus was away). Resolves
   * with how many deployments had news.
   */
  recheck(): Promise<number>;
  /** This replica's lease owner id. */
  readonly owner: string;
  /** Resolves when nothing is being processed (tests, benchmarks). */
  idle(): Promise<void>;
  /**
   * Stops driving (no new step starts; steps under way finish), runs `beforeRelease` (the drain
   * lets webhook calls in flight record their outcome there) while the leases are still held,
   * then releases the leases so another replica can take the deployments over at once.
   */
  close(options?: { beforeRelease?: () => Promise<void> }): Promise<void>;
}

const DEFAULT_LEASE_MS = 30_000;

export function createEngine(options: EngineOptions): Engine {
  const { store, webhooks, logger } = options;
  const clock = options.clock ?? Date.now;
  const repo = createDeploymentRepository(store.db);
  const driver = options.driver ?? createSimulatedDriver(store.db);
  const judge = options.metricJudge;
  const owner =
    options.replicaId ??
    `${hostname()}:${createHash('sha256').update(store.location).digest('hex').slice(0, 8)}`;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const lives = new Map<string, LiveDeployment>();
  const bus = new EventEmitter();
  const observers = new Set<(deploymentId: string, event: StoredEvent, status: DeploymentStatus) => void>();
  bus.setMaxListeners(0);
  const scheduler = new WakeScheduler((id) => {
    const live = lives.get(id);
    if (live) kick(live);
  }, clock);
  let closed = false;
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
    if (!resumedOnce || closed) return;
    try {
      for (const id of await repo.orphanedIds(clock())) {
        if (closed) return;
        if (lives.has(id)) continue;
        const live = await load(id);
        if (live) logger.info({ deploymentId: id }, 'took over a deployment whose lease expired');
      }
    } catch (err) {
      logger.warn({ err }, 'looking for orphaned deployments failed');
    }
  }

  webhooks.onSettled((run) => {
    const live = lives.get(run.deploymentId);
    if (!live || live.dropped) return;
    if (rememberRun(live, run)) kick(live);
  });

  function enqueue(live: LiveDeployment, fn: () => Promise<void>): Promise<void> {
    const next = live.queue.then(fn, fn);
    live.queue = next.catch((err: unknown) => {
      logger.error(
        { err, deploymentId: live.id },
        'engine step failed; it will be retried at the next wake-up',
      );
      scheduler.set(live.id, clock() + 1_000);
    });
    return next;
  }

  function kick(live: LiveDeployment): void {
    if (live.kickPending || live.dropped || closed) return;
    live.kickPending = true;
    void enqueue(live, async () => {
      live.kickPending = false;
      await advance(live);
    });
  }

  function facts(live: LiveDeployment): Facts {
    return {
      now: clock(),
      webhookRun: (env, loc) => live.runs.get(factKey(env, loc)),
      driverDone: (env, loc) => live.driverDone.has(factKey(env, loc)),
      driverFailure: (env, loc) => live.driverFailed.get(factKey(env, loc)),
      driverProgress: (env, loc) => live.driverProgress.get(factKey(env, loc)),
      judgment: (env, loc, i) => live.judgments.get(`${factKey(env, loc)}#${i}`),
    };
  }

  /** Decide, store, act; again while acting taught us something new. */
  async function advance(live: LiveDeployment): Promise<void> {
    for (let round = 0; round < 50 && !live.dropped && !closed; round++) {
      const result = decide(live.spec, live.state, facts(live));
      if (result.changed) {
        const ok = await persist(live, result.state, result.status, result.events, result.wakeAt);
        if (!ok) return;
      }
      scheduler.set(live.id, result.wakeAt);
      if (isFinal(result.status)) {
        // The last transition may still have things to stop (a sibling webhook, say).
        await perform(live, result.effects);
        await finished(live);
        return;
      }
      const learnt = await perform(live, result.effects);
      if (!learnt) return;
    }
  }

  async function persist(
    live: LiveDeployment,
    state: LiveDeployment['state'],
    status: DeploymentStatus,
    events: EngineEvent[],
    wakeAt: number | undefined,
    audit?: Parameters<typeof repo.writeTransition>[0]['audit'],
  ): Promise<boolean> {
    const now = clock();
    const all = [...events];
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
    const ok = await store.transaction(async (tx) =>
      createDeploymentRepository(tx).writeTransition({
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
      }),
    );
    if (!ok) {
      logger.warn(
        { deploymentId: live.id },
        'deployment was changed by another replica; no longer driving it',
      );
      drop(live);
      return false;
    }
    live.version++;
    live.seq += rows.length;
    live.state = state;
    live.status = status;
    for (const row of environments) live.written.set(row.name, row.state);
    for (const row of rows) {
      const event = toStored(row);
      bus.emit(live.id, event, status);
      for (const o of observers) {
        try {
          o(live.id, event, status);
        } catch (err) {
          logger.warn({ err, deploymentId: live.id }, 'an event observer failed');
        }
      }
    }
    return true;
  }

  /** Performs effects; true when one of them produced a fact worth deciding on at once. */
  async function perform(live: LiveDeployment, effects: Effect[]): Promise<boolean> {
    let learnt = false;
    for (const effect of effects) {
      const key = factKey(effect.environment, effect.location);
      const target = live.spec.targets[effect.environment];
      if (!target) continue;
      switch (effect.type) {
        case 'driver': {
          if (live.inFlight.has(key) || live.driverDone.has(key) || live.driverFailed.has(key)) break;
          live.inFlight.add(key);
          const controller = new AbortController();
          live.driverAborts.set(key, controller);
          const envState = live.state.environments[effect.environment];
          const deadlineAt = effect.op.op === 'rollback' ? undefined : envState?.rolloutDeadlineAt;
          // Driver actions may take minutes (a rollout): they run beside the deployment's queue,
          // so that people's decisions and cancellations are not held up behind them.
          const running = Promise.resolve()
            .then(() =>
              driver.apply(
                {
                  application: live.application,
                  environment: effect.environment,
                  deploymentId: live.id,
                  version: versionOf(live.id),
                  ...(target.account ? { account: target.account } : {}),
                  ...(target.namespace ? { namespace: target.namespace } : {}),
                },
                effect.op,
                {
                  spec: live.spec,
                  signal: controller.signal,
                  ...(deadlineAt !== undefined ? { deadlineAt } : {}),
                  progress: (message) => {
                    if (controller.signal.aborted || live.driverProgress.get(key) === message) return;
                    live.driverProgress.set(key, message);
                    kick(live);
                  },
                },
              ),
            )
            .then(
              (result) => {
                if (controller.signal.aborted) return;
                if (result?.message) live.driverProgress.set(key, result.message);
                live.driverDone.add(key);
              },
              (err: unknown) => {
                if (controller.signal.aborted) return;
                if (err instanceof TargetDriverError) {
                  live.driverFailed.set(key, err.message);
                  return;
                }
                logger.warn(
                  { err, deploymentId: live.id, environment: effect.environment, op: effect.op.op },
                  'driver action failed; it will be tried again',
                );
                setTimeout(() => kick(live), 1_000).unref();
              },
            )
            .finally(() => {
              live.inFlight.delete(key);
              if (live.driverAborts.get(key) === controller) live.driverAborts.delete(key);
              live.pending.delete(running);
              kick(live);
            });
          live.pending.add(running);
          break;
        }
        case 'cancelDriver': {
          live.driverAborts.get(key)?.abort(new Error('the step was stopped'));
          break;
        }
        case 'startWebhook': {
          if (live.inFlight.has(key) || live.runs.has(key)) break;
          const webhook = live.spec.webhooks.find((w) => w.name === effect.step.name);
          if (!webhook) {
            live.runs.set(key, { id: '', status: 'failed', reason: `no webhook named ${effect.step.name}` });
            learnt = true;
            break;
          }
          live.inFlight.add(key);
          try {
            const run = await webhooks.start({
              deploymentId: live.id,
              environment: effect.environment,
              location: effect.location,
              webhook,
              context: mergeContext(live.spec.context, live.context, effect.step.context),
              armory: {
                deploymentId: live.id,
                applicationName: live.application,
                environmentName: effect.environment,
                accountName: target.account ?? '',
                namespace: target.namespace ?? '',
                // The application's name may be any text (`Potato Facts`); a name is a slug.
                replicaSetName: `${slugOf(live.application)}-${versionOf(live.id)}`,
              },
              ...(target.account ? { account: target.account } : {}),
            });
            if (rememberRun(live, run)) learnt = true;
          } catch (err) {
            live.runs.set(key, {
              id: '',
              status: 'failed',
              reason: `the webhook could not be started: ${(err as Error).message}`,
            });
            learnt = true;
          } finally {
            live.inFlight.delete(key);
          }
          break;
        }
        case 'cancelWebhook': {
          const runId =
            live.runs.get(key)?.id || (await webhooks.find(live.id, effect.environment, effect.location))?.id;
          if (runId) await webhooks.cancel(runId, effect.reason);
          break;
        }
        case 'judge': {
          const jk = `${key}#${effect.index}`;
          if (live.inFlight.has(jk) || live.judgments.has(jk)) break;
          live.inFlight.add(jk);
          const queries = live.spec.analysis.queries.filter((q) => effect.step.queries.includes(q.name));
          const asked: Promise<JudgmentOutcome> = judge
            ? judge.judge({
                deploymentId: live.id,
                application: live.application,
                environment: effect.environment,
                ...(target.account ? { account: target.account } : {}),
                ...(target.namespace ? { namespace: target.namespace } : {}),
                replicaSetName: `${slugOf(live.application)}-${versionOf(live.id)}`,
                step: effect.step,
                queries,
                ...(live.spec.analysis.defaultMetricProviderName
                  ? { defaultMetricProviderName: live.spec.analysis.defaultMetricProviderName }
                  : {}),
                context: mergeContext(live.spec.context, live.context, effect.step.context),
                index: effect.index,
                window: effect.window,
              })
            : Promise.resolve({
                passed: false,
                message: 'this control plane has no metric judge configured; nothing was measured',
                queries: [],
              });
          // Judged in the background: a slow provider must not hold the deployment's queue.
          void asked
            .catch(
              (err: unknown): JudgmentOutcome => ({
                passed: false,
                message: `the judgment failed: ${(err as Error).message}`,
                queries: [],
              }),
            )
            .then((verdict) => {
              live.inFlight.delete(jk);
              live.judgments.set(jk, verdict);
              kick(live);
            });
          break;
        }
      }
    }
    return learnt;
  }

  async function finished(live: LiveDeployment): Promise<void> {
    drop(live);
    logger.info(
      { deploymentId: live.id, application: live.application, status: live.status },
      'deployment finished',
    );
    await promoteQueued(live.application);
  }

  function drop(live: LiveDeployment): void {
    live.dropped = true;
    lives.delete(live.id);
    scheduler.set(live.id, undefined);
  }

  /** With `enqueueOne`, the queued deployment starts when the running one ends. */
  async function promoteQueued(application: string): Promise<void> {
    const queued = await repo.queued(application);
    if (!queued || closed) return;
    const now = clock();
    try {
      const ok = await store.db
        .updateTable('deployments')
        .set({
          status: 'RUNNING',
          active_application: application,
          lease_owner: owner,
          lease_expires_at: now + leaseMs,
          updated_at: now,
          version: queued.version + 1,
        })
        .where('id', '=', queued.id)
        .where('version', '=', queued.version)
        .executeTakeFirst();
      if (ok.numUpdatedRows === 0n) return;
    } catch (err) {
      // Another deployment took the application meanwhile; this one stays queued.
      logger.info({ err, deploymentId: queued.id }, 'queued deployment not started yet');
      return;
    }
    await load(queued.id);
  }

  async function load(id: string): Promise<LiveDeployment | undefined> {
    const existing = lives.get(id);
    if (existing) return existing;
    const now = clock();
    if (!(await repo.claim(id, owner, now, now + leaseMs))) return undefined;
    const found = await repo.get(id);
    if (!found || isFinal(found.row.status) || found.row.status === 'QUEUED') return undefined;
    const live = liveFromRows(found.row, found.environments, await repo.lastSeq(id));
    lives.set(id, live);
    // Its webhook runs become ours too: deadlines timed here, unknown outcomes called again.
    await webhooks.adopt(id);
    kick(live);
    return live;
  }

  async function view(id: string): Promise<DeploymentView | undefined> {
    const found = await repo.get(id);
    if (!found) return undefined;
    const runs = await webhooks.listForDeployment(id);
    const audit = (await repo.audit(id)).map(auditView);
    return buildView(found.row, found.environments, runs, driver, audit);
  }

  /**
   * A uriTemplate that starts with a secret or context variable takes scheme and host from its
   * value: checked here, where secrets and the start's context are known, so that a bad value
   * refuses the start instead of failing the deployment halfway (issue 13).
   */
  async function preflightUris(spec: DeploymentSpec, startContext: Record<string, string>) {
    if (!webhooks.preflightUri) return;
    for (const site of webhookCallSites(spec)) {
      const webhook = spec.webhooks.find((w) => w.name === site.step.name);
      if (!webhook) continue;
      try {
        await webhooks.preflightUri(webhook, mergeContext(spec.context, startContext, site.step.context));
      } catch (err) {
        if (!isBorealisError(err, 'BRL_ERR_TEMPLATE_INVALID_URI')) throw err;
        throw new BorealisError(
          'BRL_ERR_TEMPLATE_INVALID_URI',
          `webhook "${webhook.name}" (called at ${site.path}): ${err.message}`,
          { details: { webhook: webhook.name, location: site.path } },
        );
      }
    }
  }

  return {
    driverName: driver.name,

    async start(input) {
      // Fail closed at the door: an analysis naming a provider that does not exist is refused
      // now, with its line and column, not discovered at its first judgment.
      const parsed = input.spec
        ? { spec: input.spec, diagnostics: [] }
        : parseDeployFile(input.deployFile, {
            ...(input.fileName ? { fileName: input.fileName } : {}),
            metricProviders: judge ? await judge.providerNames() : [],
          });
      if (!parsed.spec) {
        const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
        throw new BorealisError(
          'BRL_ERR_DEPLOY_FILE_INVALID',
          `The deploy file has ${errors.length} error(s); the first: line ${errors[0]?.line}, column ${errors[0]?.column}: ${errors[0]?.message}`,
          { details: { diagnostics: parsed.diagnostics } },
        );
      }
      const spec: StoredSpec = {
        ...parsed.spec,
        ...(input.manifestFiles && Object.keys(input.manifestFiles).length > 0
          ? { manifestFiles: input.manifestFiles }
          : {}),
      };
      const kinds = driver.kinds ?? ['kubernetes'];
      if (!kinds.includes(spec.kind)) {
        throw new BorealisError(
          'BRL_ERR_DRIVER_UNSUPPORTED_KIND',
          `The deploy file is kind: ${spec.kind}, but this control plane's target driver (${driver.name}) deploys only kind: ${kinds.join(', ')}; a ${spec.kind === 'lambda' ? 'Lambda' : spec.kind} target driver is needed to run it (the file itself is valid: borealis deploy validate checks it)`,
          { details: { kind: spec.kind, driver: driver.name, driverKinds: [...kinds] } },
        );
      }
      await preflightUris(spec, input.context ?? {});
      const id = randomUUID();
      const now = clock();
      const state = initialState(spec);
      const status = await insertDeployment(spec, id, now, state, input);
      await repo.insertAudit({
        who: input.createdBy,
        action: 'start',
        deploymentId: id,
        at: now,
        details: { status, application: spec.application },
        ...(input.source ? { source: input.source } : {}),
        ...(input.tokenId !== undefined ? { tokenId: input.tokenId } : {}),
      });
      logger.info(
        { deploymentId: id, application: spec.application, status, createdBy: input.createdBy },
        status === 'RUNNING' ? 'deployment started' : 'deployment queued',
      );
      if (status === 'RUNNING') await load(id);
      return { deploymentId: id, status };
    },

    get: view,

    async list(filter = {}) {
      const rows = await repo.list({
        limit: Math.min(filter.limit ?? 100, 1000),
        ...(filter.application ? { application: filter.application } : {}),
        ...(filter.statuses?.length ? { statuses: filter.statuses } : {}),
        ...(filter.since !== undefined ? { since: filter.since } : {}),
        ...(filter.idPrefix ? { idPrefix: filter.idPrefix } : {}),
      });
      const statuses = await repo.environmentStatuses(rows.map((r) => r.id));
      return rows.map((row) =>
        listEntryOf(
          row,
          statuses.filter((e) => e.deployment_id === row.id),
        ),
      );
    },

    async decide(id, d) {
      const live = lives.get(id) ?? (await load(id));
      if (!live) {
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
          await store.db
            .updateTable('deployments')
            .set({ status: 'CANCELLED', finished_at: clock(), message: `cancelled by ${d.who} while queued` })
            .where('id', '=', id)
            .where('status', '=', 'QUEUED')
            .execute();
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
        const driver = found.row.lease_owner;
        if (options.peers && driver && driver !== owner && (found.row.lease_expires_at ?? 0) > clock()) {
          return options.peers.decide(driver, id, d);
        }
        throw new BorealisError(
          'BRL_ERR_DEPLOYMENT_NOT_DRIVEN',
          `Deployment ${id} is driven by another replica; try again`,
        );
      }
      const target = live;
      let refusal: BorealisError | undefined;
      await enqueue(target, async () => {
        const state = structuredClone(target.state);
        const now = clock();
        const result = applyDecision(target.spec, state, { ...d, now });
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
        const ok = await persist(target, state, target.status, result.events, undefined, {
          who: d.who,
          action: d.action,
          deploymentId: id,
          ...(d.environment ? { environment: d.environment } : {}),
          at: now,
          details: typeof location === 'string' ? { location } : {},
          ...auditActor(d),
        });
        if (!ok) {
          refusal = new BorealisError(
            'BRL_ERR_DEPLOYMENT_NOT_DRIVEN',
            `Deployment ${id} is driven by another replica; try again`,
          );
          return;
        }
        await advance(target);
      });
      if (refusal) throw refusal;
      return (await view(id))!;
    },

    async events(id, afterSeq) {
      return (await repo.events(id, afterSeq)).map(toStored);
    },

    observe(listener) {
      observers.add(listener);
      return () => observers.delete(listener);
    },

    subscribe(id, listener) {
      bus.on(id, listener);
      return () => bus.off(id, listener);
    },

    async resume() {
      const began = Date.now();
      const ids = await repo.unfinishedIds();
      let resumed = 0;
      for (const id of ids) if (await load(id)) resumed++;
      resumedOnce = true;
      logger.info({ resumed, durationMs: Date.now() - began }, 'deployments resumed');
      return { resumed, durationMs: Date.now() - began };
    },

    owner,

    async recheck() {
      let moved = 0;
      for (const live of [...lives.values()]) {
        if (live.dropped || closed) continue;
        let news = false;
        for (const run of await webhooks.listForDeployment(live.id)) {
          const before = live.runs.get(factKey(run.environment, run.location))?.status;
          if (rememberRun(live, run) && before !== run.status) news = true;
        }
        if (news && !live.dropped) {
          moved++;
          kick(live);
        }
      }
      return moved;
    },

    async wake(deploymentId, runId) {
      const live = lives.get(deploymentId);
      if (!live || live.dropped) return;
      if (runId === undefined) {
        kick(live);
        return;
      }
      const run = await webhooks.get(runId);
      if (run && !live.dropped && rememberRun(live, run)) kick(live);
    },

    async idle() {
      for (;;) {
        const pending = [...lives.values()].flatMap((l) => [l.queue, ...l.pending]);
        await Promise.all(pending);
        const again = [...lives.values()].some((l) => l.kickPending || l.pending.size > 0);
        if (!again) return;
      }
    },

    async close(closeOptions = {}) {
      closed = true;
      scheduler.close();
      for (const l of lives.values()) for (const c of l.driverAborts.values()) c.abort(new Error('closing'));
      await Promise.all([...lives.values()].flatMap((l) => [l.queue, ...l.pending]));
      // Leases keep being renewed meanwhile: what is still in flight is ours until released.
      await closeOptions.beforeRelease?.();
      clearInterval(renewTimer);
      await leaseRound;
      await repo.releaseLeases(owner).catch(() => undefined);
      lives.clear();
    },
  };

  async function insertDeployment(
    spec: DeploymentSpec,
    id: string,
    now: number,
    state: ReturnType<typeof initialState>,
    input: StartInput,
  ): Promise<DeploymentStatus> {
    const application = spec.application;
    const base = {
      id,
      application,
      spec: JSON.stringify(spec),
      context: JSON.stringify(input.context ?? {}),
      state: topState(state),
      message: null,
      created_by: input.createdBy,
      created_at: now,
      updated_at: now,
      finished_at: null,
      wake_at: null,
      version: 1,
    };
    const envs = Object.values(state.environments).map((e) => envRow(id, e));
    try {
      return await store.transaction(async (tx) => {
        const r = createDeploymentRepository(tx);
        const active = await r.active(application);
        if (active) {
          if (spec.deploymentConfig.ifDeploymentInProgress.strategy !== 'enqueueOne')
            throw busy(application, active.id);
          const older = await r.queued(application);
          if (older) {
            await tx
              .updateTable('deployments')
              .set({
                status: 'CANCELLED',
                finished_at: now,
                message: `superseded by deployment ${id} (enqueueOne keeps only the newest)`,
              })
              .where('id', '=', older.id)
              .execute();
          }
          await r.insert(
            {
              ...base,
              status: 'QUEUED',
              active_application: null,
              lease_owner: null,
              lease_expires_at: null,
            },
            envs,
            [
              {
                deployment_id: id,
                seq: 1,
                at: now,
                type: 'deployment.queued',
                environment: null,
                data: JSON.stringify({ behind: active.id }),
              },
            ],
          );
          return 'QUEUED' as const;
        }
        await r.insert(
          {
            ...base,
            status: 'RUNNING',
            active_application: application,
            lease_owner: owner,
            lease_expires_at: now + leaseMs,
          },
          envs,
          [
            {
              deployment_id: id,
              seq: 1,
              at: now,
              type: 'deployment.created',
              environment: null,
              data: JSON.stringify({ status: 'RUNNING', application }),
            },
          ],
        );
        return 'RUNNING' as const;
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        const active = await repo.active(application);
        throw busy(application, active?.id ?? 'another deployment');
      }
      throw err;
    }
  }
}

function busy(application: string, runningId: string): BorealisError {
  return new BorealisError(
    'BRL_ERR_DEPLOYMENT_IN_PROGRESS',
    `Deployment ${runningId} of ${application} is still running; wait for it, cancel it (borealis deploy cancel ${runningId}), or set deploymentConfig.ifDeploymentInProgress.strategy: enqueueOne`,
    { details: { application, runningDeploymentId: runningId } },
  );
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

function toStored(
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

/** The audit columns a person's decision carries besides who. */
function auditActor(d: Omit<Decision, 'now'>): { reason?: string; source?: string; tokenId?: string | null } {
  return {
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.source ? { source: d.source } : {}),
    ...(d.tokenId !== undefined ? { tokenId: d.tokenId } : {}),
  };
}
