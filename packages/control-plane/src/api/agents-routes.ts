import { KUBERNETES_API_HOST } from '@borealis/protocol';
import type { FastifyInstance } from 'fastify';
import { BorealisError } from '../errors.js';
import type { RelayHub } from '../relay/index.js';
import { routeSchema } from './route-schema.js';

/** Largest answer body `probe` returns: it is a diagnostic, not a proxy. */
const PROBE_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

interface ProbeBody {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  bodyBase64?: string;
  timeoutMs?: number;
}

/**
 * `GET /api/v1/agents`: every connection, grouped by agent identifier.
 * `POST /api/v1/agents/:agentIdentifier/probe`: one HTTP call through that agent, answered in
 * JSON — how a person checks that an agent can reach a webhook target before a deployment
 * depends on it (`borealis agents probe`).
 */
export function registerAgentRoutes(app: FastifyInstance, deps: { hub: RelayHub }): void {
  app.get(
    '/api/v1/agents',
    { config: { permission: 'read' }, schema: routeSchema('agents', 'Connected agents, per connection') },
    async () => ({
      agents: deps.hub.list().map((g) => ({
        agentIdentifier: g.agentIdentifier,
        connections: g.connections.map((c) => ({
          sessionId: c.sessionId,
          instanceId: c.instanceId,
          version: c.version,
          clientId: c.clientId,
          credentialName: c.credentialName,
          // The credential allows identifiers by a `*` pattern: worth a second look.
          wildcard: c.wildcard === true,
          remoteAddress: c.remoteAddress,
          connectedAt: new Date(c.connectedAt).toISOString(),
          lastHeartbeatAt: c.lastHeartbeatAt === null ? null : new Date(c.lastHeartbeatAt).toISOString(),
          rttMs: c.rttMs,
          streamsInFlight: c.streamsInFlight,
          draining: c.draining,
          replicaId: c.replicaId,
        })),
      })),
    }),
  );

  app.post<{ Params: { agentIdentifier: string }; Body: ProbeBody }>(
    '/api/v1/agents/:agentIdentifier/probe',
    {
      // A call of the caller's choosing inside a private network, answer included: admin only.
      config: { permission: 'admin' },
      bodyLimit: 24 * 1024 * 1024,
      schema: {
        tags: ['agents'],
        summary: 'One HTTP call through an agent, answered in JSON (a diagnostic)',
        body: {
          type: 'object',
          required: ['url'],
          additionalProperties: false,
          properties: {
            method: { type: 'string', pattern: '^[A-Za-z]{1,16}$' },
            url: { type: 'string', minLength: 1, maxLength: 8192 },
            headers: { type: 'object', additionalProperties: { type: 'string' } },
            body: { type: 'string' },
            bodyBase64: { type: 'string' },
            timeoutMs: { type: 'integer', minimum: 1, maximum: 600000 },
          },
        },
      },
    },
    async (req) => {
      const { method = 'GET', url, headers = {}, body, bodyBase64, timeoutMs = 30_000 } = req.body;
      if (body !== undefined && bodyBase64 !== undefined) {
        throw new BorealisError('BRL_ERR_BAD_REQUEST', 'Give either body or bodyBase64, not both');
      }
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new BorealisError(
          'BRL_ERR_BAD_REQUEST',
          `url ${JSON.stringify(url)} is not an absolute URL such as http://ci.internal:8080/health`,
        );
      }
      if (parsed.hostname.toLowerCase() === KUBERNETES_API_HOST) {
        throw new BorealisError(
          'BRL_ERR_BAD_REQUEST',
          `${KUBERNETES_API_HOST} is reserved for the Kubernetes driver (the agent adds its cluster credentials there); probe other destinations`,
        );
      }
      const started = performance.now();
      const res = await deps.hub.dispatch(req.params.agentIdentifier, {
        method,
        url,
        headers,
        body: bodyBase64 !== undefined ? Buffer.from(bodyBase64, 'base64') : (body ?? null),
        timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += chunk.length;
        if (size > PROBE_MAX_RESPONSE_BYTES) {
          res.body.destroy();
          throw new BorealisError(
            'BRL_ERR_PAYLOAD_TOO_LARGE',
            `The answer is larger than ${PROBE_MAX_RESPONSE_BYTES} bytes; probe is for diagnostics`,
          );
        }
        chunks.push(Buffer.from(chunk));
      }
      return {
        status: res.status,
        headers: res.headers,
        bodyBase64: Buffer.concat(chunks).toString('base64'),
        durationMs: Math.round(performance.now() - started),
        agent: res.agent,
      };
    },
  );
}
