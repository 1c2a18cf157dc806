import type { FastifyInstance } from 'fastify';
import { BorealisError } from '../errors.js';
import type { WebhookService } from '../webhooks/index.js';
import { routeSchema, stringParams } from './route-schema.js';

/**
 * `GET /api/v1/webhook-runs/:id`: one run as people debug it — the rendered request (secrets
 * and the callback token masked), every attempt, the callback and its mdMessage (as text: shown
 * escaped wherever it is displayed). Authenticated by the server's bearer-token hook.
 */
export function registerWebhookRunRoutes(
  app: FastifyInstance,
  deps: { webhooks: Pick<WebhookService, 'get'> },
): void {
  app.get<{ Params: { id: string } }>(
    '/api/v1/webhook-runs/:id',
    {
      config: { permission: 'read' },
      schema: routeSchema(
        'webhooks',
        'One webhook run: rendered request (secrets masked), attempts, callback',
        {
          params: stringParams('id'),
        },
      ),
    },
    async (req) => {
      const run = await deps.webhooks.get(req.params.id);
      if (!run) throw new BorealisError('BRL_ERR_NOT_FOUND', `No webhook run ${req.params.id}`);
      return run;
    },
  );
}
