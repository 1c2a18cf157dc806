import type { DeploymentSpec } from '@borealis/deploy-spec';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../audit/index.js';
import { applicationHistory, type Engine, rollbackSpec } from '../engine/index.js';
import { BorealisError } from '../errors.js';
import type { Store } from '../store/index.js';
import { routeSchema, stringParams } from './route-schema.js';

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 256 } },
} as const;

/**
 * Applications: their history (revisions per environment: version, deployment, when, started
 * and approved by whom) and rollback after success — a new deployment of an earlier revision,
 * narrowed to one environment and gated like any other.
 */
export function registerApplicationRoutes(
  app: FastifyInstance,
  deps: { engine: Engine; store: Store },
): void {
  app.get<{ Params: { name: string }; Querystring: { environment?: string } }>(
    '/api/v1/applications/:name/history',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['applications'],
        summary: 'Revisions per environment: version, deployment, when, started and approved by whom',
        params: nameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { environment: { type: 'string', minLength: 1, maxLength: 256 } },
        },
      },
    },
    async (req) => applicationHistory(deps.store.deploymentHistory, req.params.name, req.query.environment),
  );

  // The deploy file (as validated and stored) and the context a deployment ran with: what a
  // rollback to it would run again. Secrets are references ({{secrets.name}}), never values.
  app.get<{ Params: { id: string } }>(
    '/api/v1/deployments/:id/deploy-file',
    {
      config: { permission: 'read' },
      schema: routeSchema('deployments', "A deployment's deploy file (as parsed) and context", {
        params: stringParams('id'),
      }),
    },
    async (req) => {
      const found = await deps.store.deployments.get(req.params.id);
      if (!found) throw new BorealisError('BRL_ERR_DEPLOYMENT_NOT_FOUND', `No deployment ${req.params.id}`);
      return {
        deploymentId: found.row.id,
        application: found.row.application,
        spec: JSON.parse(found.row.spec) as DeploymentSpec,
        context: JSON.parse(found.row.context) as Record<string, string>,
      };
    },
  );

  app.post<{ Params: { name: string }; Body: { environment: string; toRevision?: number; reason?: string } }>(
    '/api/v1/applications/:name/rollback',
    {
      config: { permission: 'deploy' },
      schema: {
        tags: ['applications'],
        summary: 'Roll an environment back to an earlier revision: a new deployment, gated like any other',
        params: nameParams,
        body: {
          type: 'object',
          required: ['environment'],
          additionalProperties: false,
          properties: {
            environment: { type: 'string', minLength: 1, maxLength: 256 },
            toRevision: { type: 'integer', minimum: 1 },
            reason: { type: 'string', maxLength: 2000 },
          },
        },
      },
    },
    async (req, reply) => {
      const { name } = req.params;
      const { environment, toRevision, reason } = req.body;
      const history = await applicationHistory(deps.store.deploymentHistory, name, environment);
      const revisions = history.environments[0]?.revisions ?? [];
      const current = revisions[revisions.length - 1];
      const target =
        toRevision === undefined
          ? revisions[revisions.length - 2]
          : revisions.find((r) => r.revision === toRevision);
      if (!target || !current) {
        throw new BorealisError(
          'BRL_ERR_CONFLICT',
          toRevision === undefined
            ? `${name} has only one revision in ${environment}; there is nothing before it to roll back to`
            : `${name} has no revision ${toRevision} in ${environment}; \`borealis history ${name} --env ${environment}\` lists them (1..${revisions.length})`,
          { details: { revisions: revisions.length } },
        );
      }
      if (target.revision === current.revision)
        throw new BorealisError(
          'BRL_ERR_CONFLICT',
          `Revision ${target.revision} (${target.version}) is what ${environment} runs now; pick an earlier one`,
        );
      const found = await deps.store.deployments.get(target.deploymentId);
      if (!found) throw new BorealisError('BRL_ERR_NOT_FOUND', `Deployment ${target.deploymentId} is gone`);
      const spec = rollbackSpec(JSON.parse(found.row.spec) as DeploymentSpec, environment);
      const { who, source, tokenId } = actorOf(req);
      const started = await deps.engine.start({
        spec,
        context: JSON.parse(found.row.context) as Record<string, string>,
        createdBy: who,
        source,
        tokenId,
      });
      await deps.store.deployments.insertAudit({
        who,
        action: 'application.rollback',
        deploymentId: started.deploymentId,
        environment,
        at: Date.now(),
        details: {
          application: name,
          toRevision: target.revision,
          toDeploymentId: target.deploymentId,
          version: target.version,
          fromRevision: current.revision,
        },
        ...(reason ? { reason } : {}),
        source,
        tokenId,
      });
      req.log.info(
        {
          deploymentId: started.deploymentId,
          application: name,
          environment,
          toRevision: target.revision,
          version: target.version,
          who,
        },
        'rollback to an earlier revision started',
      );
      return reply.status(202).send({
        ...started,
        application: name,
        environment,
        toRevision: target.revision,
        version: target.version,
        fromRevision: current.revision,
      });
    },
  );
}
