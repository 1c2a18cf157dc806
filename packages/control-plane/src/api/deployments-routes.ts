import { type DeploymentSpec, parseDeployFile } from '@borealis/deploy-spec';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Permission } from '../access/index.js';
import { actorOf } from '../audit/index.js';
import type { DrainSignal } from '../drain.js';
import {
  DECISION_ACTIONS,
  type DecisionAction,
  DeploymentStatus,
  type Engine,
  isFinal,
  type StoredEvent,
} from '../engine/index.js';
import { BorealisError } from '../errors.js';
import { ParsedFiles } from './parsed-files.js';
import { routeSchema, stringParams, stringQuery } from './route-schema.js';

const KNOWN_STATUSES: readonly string[] = Object.values(DeploymentStatus);

/** `since`: an ISO date-time, or a duration back from now (`90s`, `30m`, `24h`, `7d`). */
function parseSince(v: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(v);
  if (m) return Date.now() - Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's'];
  const t = Date.parse(v);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(v))
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `since=${v} is neither a date-time (2026-12-01T09:00:00Z) nor a duration back from now (30m, 24h, 7d)`,
    );
  return t;
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
const SSE_HEARTBEAT_MS = 15_000;

/**
 * Deployments: start (the deploy file as YAML or `{"deployFile", "context"}`), list, show, the
 * people's decisions (audited under the API token's name), and the server-sent event stream of
 * every transition.
 */
export function registerDeploymentRoutes(
  app: FastifyInstance,
  deps: {
    engine: Engine;
    drain?: DrainSignal;
    replicaId?: string;
    /** The metric providers an `analysis` may name (none without a metric service). */
    metricProviders?: () => Promise<readonly string[]>;
  },
): void {
  const { engine } = deps;
  const parsedFiles = new ParsedFiles();
  for (const type of YAML_TYPES) {
    if (!app.hasContentTypeParser(type)) {
      app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
    }
  }

  app.post(
    '/api/v1/deployments',
    {
      config: { permission: 'deploy' },
      schema: routeSchema(
        'deployments',
        'Start a deployment: the deploy file as application/yaml, or JSON {deployFile, context}',
      ),
    },
    async (req, reply) => {
      const { deployFile, context, manifestFiles } = readStartBody(req.body);
      const { who, source, tokenId } = actorOf(req);
      const spec = parseForStart(deployFile, (await deps.metricProviders?.()) ?? [], parsedFiles);
      const started = await engine.start({
        spec,
        context,
        createdBy: who,
        source,
        tokenId,
        ...(manifestFiles ? { manifestFiles } : {}),
      });
      return reply.status(202).send(started);
    },
  );

  app.get(
    '/api/v1/deployments',
    {
      config: { permission: 'read' },
      schema: routeSchema('deployments', 'Deployments, newest first', {
        querystring: stringQuery({
          application: '',
          status: 'statuses, comma-separated',
          since: 'a date-time, or a duration back from now (24h)',
          limit: '',
          idPrefix: '',
        }),
      }),
    },
    async (req) => {
      const q = req.query as {
        application?: string;
        limit?: string;
        status?: string;
        since?: string;
        idPrefix?: string;
      };
      const limit = q.limit === undefined ? undefined : Number(q.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
        throw new BorealisError('BRL_ERR_BAD_REQUEST', 'limit must be a whole number of at least 1');
      }
      const statuses = q.status
        ? q.status.split(',').map((s) => s.trim().toUpperCase().replace(/-/g, '_'))
        : undefined;
      for (const s of statuses ?? []) {
        if (!KNOWN_STATUSES.includes(s))
          throw new BorealisError(
            'BRL_ERR_BAD_REQUEST',
            `status ${s} is not a deployment status; use one or more (comma-separated) of ${KNOWN_STATUSES.join(', ')}`,
          );
      }
      const since = q.since === undefined || q.since === '' ? undefined : parseSince(q.since);
      if (q.idPrefix !== undefined && !/^[0-9a-f-]{1,36}$/i.test(q.idPrefix))
        throw new BorealisError(
          'BRL_ERR_BAD_REQUEST',
          'idPrefix must be the start of a deployment id (hex digits and -)',
        );
      return {
        deployments: await engine.list({
          ...(q.application ? { application: q.application } : {}),
          ...(limit ? { limit } : {}),
          ...(statuses ? { statuses } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(q.idPrefix ? { idPrefix: q.idPrefix.toLowerCase() } : {}),
        }),
      };
    },
  );

  app.get(
    '/api/v1/deployments/:id',
    {
      config: { permission: 'read' },
      schema: routeSchema('deployments', 'One deployment: environments, steps, webhook runs', {
        params: stringParams('id'),
      }),
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const view = await engine.get(id);
      if (!view) throw notFound(id);
      return view;
    },
  );

  // One route per decision, so each declares what it needs: approve and reject are judged by the
  // engine against the waiting pause's requiresRoles; the others need the deployer role.
  for (const action of DECISION_ACTIONS) {
    app.post(
      `/api/v1/deployments/:id/${action}`,
      {
        config: { permission: DECISION_PERMISSION[action] },
        schema: routeSchema('deployments', `Decision: ${action} ({environment, reason})`, {
          params: stringParams('id'),
        }),
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const { environment, reason } = readDecisionBody(req.body, action);
        if (!(await engine.get(id))) throw notFound(id);
        const { who, source, tokenId } = actorOf(req);
        return engine.decide(id, {
          action,
          who,
          roles: req.identity?.roles ?? [],
          source,
          tokenId,
          ...(environment ? { environment } : {}),
          ...(reason ? { reason } : {}),
        });
      },
    );
  }
  // Anything else after a deployment id: say which decisions exist.
  app.post(
    '/api/v1/deployments/:id/:action',
    {
      config: { permission: 'read' },
      schema: routeSchema('deployments', 'An unknown decision: answered 404 with the known ones', {
        params: stringParams('id', 'action'),
      }),
    },
    async (req) => {
      const { action } = req.params as { action: string };
      throw new BorealisError(
        'BRL_ERR_NOT_FOUND',
        `No decision ${action.slice(0, 40)}; use one of ${DECISION_ACTIONS.join(', ')}`,
      );
    },
  );

  app.get(
    '/api/v1/deployments/:id/events',
    {
      config: { permission: 'read' },
      schema: routeSchema('deployments', 'Server-sent events, one per transition (Last-Event-ID resumes)', {
        params: stringParams('id'),
      }),
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      if (!(await engine.get(id))) throw notFound(id);
      await streamEvents(engine, id, req, reply, deps);
    },
  );
}

/**
 * The last event of a stream this replica ends because it is stopping. Not a stored event (no
 * `id:`, no seq): clients reconnect with the Last-Event-ID they had, to another replica or to
 * this one once it is back, and the deployment goes on meanwhile.
 */
export const SHUTDOWN_EVENT = 'server.shuttingDown';

async function streamEvents(
  engine: Engine,
  id: string,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: { drain?: DrainSignal; replicaId?: string },
): Promise<void> {
  const header = req.headers['last-event-id'];
  const since = Number(
    (Array.isArray(header) ? header[0] : header) ?? (req.query as { since?: string }).since ?? 0,
  );
  let last = Number.isFinite(since) && since > 0 ? Math.floor(since) : 0;
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let ended = false;
  let replaying = true;
  const buffered: StoredEvent[] = [];
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    offDrain();
    clearInterval(heartbeat);
    raw.end();
  };
  const shutDown = () => {
    if (ended) return;
    const data = {
      type: SHUTDOWN_EVENT,
      at: new Date().toISOString(),
      deploymentId: id,
      ...(deps.replicaId ? { replicaId: deps.replicaId } : {}),
      message:
        'the control plane is shutting down; the deployment goes on: reconnect with Last-Event-ID (another replica, or this one once it is back)',
    };
    raw.write(`retry: 1000\nevent: ${SHUTDOWN_EVENT}\ndata: ${JSON.stringify(data)}\n\n`);
    end();
    // The connection is not kept alive: the server is closing.
    raw.once('finish', () => raw.socket?.destroy());
  };
  const send = (e: StoredEvent) => {
    if (ended || e.seq <= last) return;
    last = e.seq;
    const data = {
      seq: e.seq,
      at: new Date(e.at).toISOString(),
      type: e.type,
      deploymentId: id,
      ...(e.environment ? { environment: e.environment } : {}),
      ...e.data,
    };
    raw.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`);
    if (e.type === 'deployment.finished') end();
  };
  // Subscribe before replaying so nothing falls between the two; duplicates are skipped by seq.
  const unsubscribe = engine.subscribe(id, (e) => (replaying ? buffered.push(e) : send(e)));
  let offDrain: () => void = () => undefined;
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
  offDrain = deps.drain?.onDrain(shutDown) ?? offDrain;
  raw.on('close', end);
  for (;;) {
    const page = await engine.events(id, last);
    for (const e of page) send(e);
    if (page.length === 0 || ended) break;
  }
  replaying = false;
  for (const e of buffered.splice(0)) send(e);
  // Ended without a finished event (e.g. cancelled while queued): nothing more will come.
  const view = await engine.get(id);
  if (view && isFinal(view.status) && !ended) end();
}

/**
 * The deploy file parsed at the door, with every diagnostic in the refusal. Fails closed: an
 * analysis naming a metric provider that does not exist is refused now, with its line and
 * column, not discovered at its first judgment. A file whose analysis defines no queries does
 * not depend on the providers: its spec is kept for the next start of the same text
 * (`parsed-files.ts`).
 *
 * The providers are read first even then: skipping that read for such files (issue 17) made each
 * HTTP start cost 0.1-0.3 ms more CPU, not less. On SQLite the read waits for the open group
 * commit, so the starts of a turn go on together after it, which the server handles more cheaply
 * than starts that each run in their own turn.
 */
function parseForStart(
  deployFile: string,
  metricProviders: readonly string[],
  parsedFiles: ParsedFiles,
): DeploymentSpec {
  const kept = parsedFiles.get(deployFile);
  if (kept) return kept;
  const parsed = parseDeployFile(deployFile, { metricProviders: [...metricProviders] });
  if (parsed.spec?.analysis.queries.length === 0) parsedFiles.keep(deployFile, parsed.spec);
  if (parsed.spec) return parsed.spec;
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  throw new BorealisError(
    'BRL_ERR_DEPLOY_FILE_INVALID',
    `The deploy file has ${errors.length} error(s); the first: line ${errors[0]?.line}, column ${errors[0]?.column}: ${errors[0]?.message}`,
    { details: { diagnostics: parsed.diagnostics } },
  );
}

function readStartBody(body: unknown): {
  deployFile: string;
  context: Record<string, string>;
  manifestFiles?: Record<string, string>;
} {
  if (typeof body === 'string') return { deployFile: body, context: {} };
  if (body && typeof body === 'object' && typeof (body as { deployFile?: unknown }).deployFile === 'string') {
    const { deployFile, context, manifestFiles } = body as {
      deployFile: string;
      context?: unknown;
      manifestFiles?: unknown;
    };
    let files: Record<string, string> | undefined;
    if (manifestFiles !== undefined) {
      if (typeof manifestFiles !== 'object' || manifestFiles === null || Array.isArray(manifestFiles))
        throw new BorealisError(
          'BRL_ERR_BAD_REQUEST',
          'manifestFiles must be an object of manifest paths (as the deploy file writes them) to file contents',
        );
      files = Object.create(null) as Record<string, string>;
      for (const [k, v] of Object.entries(manifestFiles as Record<string, unknown>)) {
        if (typeof v !== 'string')
          throw new BorealisError(
            'BRL_ERR_BAD_REQUEST',
            `manifestFiles[${JSON.stringify(k)}] must be the file's text`,
          );
        files[k] = v;
      }
      files = { ...files };
    }
    if (
      context !== undefined &&
      (typeof context !== 'object' || context === null || Array.isArray(context))
    ) {
      throw new BorealisError('BRL_ERR_BAD_REQUEST', 'context must be an object of names to string values');
    }
    const ctx: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries((context ?? {}) as Record<string, unknown>)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw new BorealisError('BRL_ERR_BAD_REQUEST', `context.${k} must be a string`);
      }
      ctx[k] = String(v);
    }
    return { deployFile, context: { ...ctx }, ...(files ? { manifestFiles: files } : {}) };
  }
  throw new BorealisError(
    'BRL_ERR_BAD_REQUEST',
    'Send the deploy file as the body (content-type application/yaml), or JSON {"deployFile": "<yaml>", "context": {...}}',
  );
}

const DECISION_PERMISSION: Record<DecisionAction, Permission> = {
  approve: 'approve',
  reject: 'approve',
  rollback: 'deploy',
  'roll-forward': 'deploy',
  cancel: 'deploy',
};

/** Longest reason kept: a sentence or a ticket link, not a document. */
const MAX_REASON_LENGTH = 2000;

function readDecisionBody(
  raw: unknown,
  action: DecisionAction,
): { environment: string | undefined; reason: string | undefined } {
  const body = (raw ?? {}) as { environment?: unknown; env?: unknown; reason?: unknown };
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      'Send a JSON body {"environment": "<name>", "reason": "<why>"}',
    );
  const environment = body.environment ?? body.env;
  if (environment !== undefined && typeof environment !== 'string') {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      'environment must be a string naming one of the deployment environments',
    );
  }
  if (environment === undefined && action !== 'cancel') {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `${action} needs the environment: send {"environment": "<name>"}`,
    );
  }
  const reason = body.reason;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH)) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `reason must be a string of at most ${MAX_REASON_LENGTH} characters (why, for the audit log)`,
      { details: { field: 'reason' } },
    );
  }
  return { environment, reason: reason === '' ? undefined : reason };
}

const notFound = (id: string) => new BorealisError('BRL_ERR_DEPLOYMENT_NOT_FOUND', `No deployment ${id}`);
