import { randomUUID } from 'node:crypto';
import { type DeploymentSpec, webhookCallSites } from '@borealis/deploy-spec';
import { BorealisError, isBorealisError } from '../errors.js';
import {
  type DeploymentEnvironmentRow,
  type DeploymentRow,
  isUniqueViolation,
  type Store,
} from '../store/index.js';
import { mergeContext } from '../templates/index.js';
import type { WebhookService } from '../webhooks/types.js';
import type { ReplicaBasics } from './lease-keeper.js';
import { envRow, type LiveDeployment, topState } from './live-deployment.js';
import { initialState } from './machine.js';
import type { StoredSpec, TargetDriver } from './target-driver.js';
import type { DeploymentStatus, StartInput } from './types.js';

/** A deployment is stored with one event, its first (`deployment.created` or `.queued`). */
const FIRST_SEQ = 1;

/** A deployment started here is driven here (under `owner`'s lease). */
export interface AdmissionOptions extends ReplicaBasics {
  store: Store;
  driver: TargetDriver;
  webhooks: Pick<WebhookService, 'preflightUri'>;
  /** Claims and starts driving a deployment now RUNNING. */
  load: (id: string) => Promise<LiveDeployment | undefined>;
  /** Starts driving a deployment this replica has just inserted, leased to itself, from its rows. */
  driveNew: (row: DeploymentRow, environments: DeploymentEnvironmentRow[], seq: number) => void;
  closed: () => boolean;
}

export interface Admission {
  /** Checks a parsed spec can run here, stores it and starts (or queues) the deployment. */
  start(input: StartInput): Promise<{ deploymentId: string; status: DeploymentStatus }>;
  /** With `enqueueOne`, the queued deployment starts when the running one ends. */
  promoteQueued(application: string): Promise<void>;
}

/**
 * Admission: what may start, what waits. A deployment is refused at the door when its file,
 * kind or webhook addresses cannot run here; one per application runs, and with `enqueueOne`
 * the newest waits behind it (an older waiting one is superseded).
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const { store, repo, driver, webhooks, owner, leaseMs, clock, logger, load } = options;

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

  /**
   * Stores the deployment, its environments, its first event and the audit entry of the start in
   * one transaction. Answers with what was written, so that a deployment started here is driven
   * from those rows without reading them back.
   */
  async function insertDeployment(
    spec: DeploymentSpec,
    id: string,
    now: number,
    state: ReturnType<typeof initialState>,
    input: StartInput,
  ): Promise<{ row: DeploymentRow; environments: DeploymentEnvironmentRow[] }> {
    const application = spec.application;
    const audit = (status: DeploymentStatus) => ({
      who: input.createdBy,
      action: 'start',
      deploymentId: id,
      at: now,
      details: { status, application },
      ...(input.source ? { source: input.source } : {}),
      ...(input.tokenId !== undefined ? { tokenId: input.tokenId } : {}),
    });
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
    const firstEvent = (type: string, data: Record<string, unknown>) => [
      { deployment_id: id, seq: FIRST_SEQ, at: now, type, environment: null, data: JSON.stringify(data) },
    ];
    try {
      return await store.transaction(async (tx) => {
        const r = tx.deployments;
        const active = await r.active(application);
        if (active) {
          if (spec.deploymentConfig.ifDeploymentInProgress.strategy !== 'enqueueOne')
            throw busy(application, active.id);
          const older = await r.queued(application);
          if (older) {
            await r.supersedeQueued(
              older.id,
              now,
              `superseded by deployment ${id} (enqueueOne keeps only the newest)`,
            );
          }
          const row: DeploymentRow = {
            ...base,
            status: 'QUEUED',
            active_application: null,
            lease_owner: null,
            lease_expires_at: null,
          };
          await r.insert(row, envs, firstEvent('deployment.queued', { behind: active.id }));
          await r.insertAudit(audit('QUEUED'));
          return { row, environments: envs };
        }
        const row: DeploymentRow = {
          ...base,
          status: 'RUNNING',
          active_application: application,
          lease_owner: owner,
          lease_expires_at: now + leaseMs,
        };
        await r.insert(row, envs, firstEvent('deployment.created', { status: 'RUNNING', application }));
        await r.insertAudit(audit('RUNNING'));
        return { row, environments: envs };
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        const active = await repo.active(application);
        throw busy(application, active?.id ?? 'another deployment');
      }
      throw err;
    }
  }

  return {
    async start(input) {
      const spec: StoredSpec = {
        ...input.spec,
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
      const written = await insertDeployment(spec, id, now, state, input);
      const status = written.row.status as DeploymentStatus;
      logger.info(
        { deploymentId: id, application: spec.application, status, createdBy: input.createdBy },
        status === 'RUNNING' ? 'deployment started' : 'deployment queued',
      );
      // Leased to this replica by the insert itself: driven from the rows as written.
      if (status === 'RUNNING') options.driveNew(written.row, written.environments, FIRST_SEQ);
      return { deploymentId: id, status };
    },

    async promoteQueued(application) {
      const queued = await repo.queued(application);
      if (!queued || options.closed()) return;
      const now = clock();
      try {
        if (!(await repo.promoteQueued(queued, owner, now, now + leaseMs))) return;
      } catch (err) {
        // Another deployment took the application meanwhile; this one stays queued.
        logger.info({ err, deploymentId: queued.id }, 'queued deployment not started yet');
        return;
      }
      await load(queued.id);
    },
  };
}

function busy(application: string, runningId: string): BorealisError {
  return new BorealisError(
    'BRL_ERR_DEPLOYMENT_IN_PROGRESS',
    `Deployment ${runningId} of ${application} is still running; wait for it, cancel it (borealis deploy cancel ${runningId}), or set deploymentConfig.ifDeploymentInProgress.strategy: enqueueOne`,
    { details: { application, runningDeploymentId: runningId } },
  );
}
