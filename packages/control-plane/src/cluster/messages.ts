import type { Logger } from 'pino';
import { DECISION_ACTIONS, type DeploymentView, type EnginePeers, type RunOutcome } from '../engine/index.js';
import type { BorealisWireError } from '../errors.js';
import type { AgentConnectionInfo } from '../relay/index.js';

// What replicas say to each other on the cluster bus, as one typed and versioned codec: every
// message is JSON with `v` (its format's version) next to its own fields, and every one is checked
// on arrival, so a message from a newer release or a broken peer is rejected with a reason instead
// of being used half-understood. (Forwarded calls travel as tunnel frames; see `forwarding.ts`.)
//
// A message without `v` comes from a release that predates it and is read as version 1, so
// replicas of both releases keep talking during a rolling upgrade.

/** The format version this release writes and reads. */
export const CLUSTER_MESSAGE_VERSION = 1;

/** A run settled on replica `from`: the replica driving `deploymentId` moves it on now. */
export interface WakeMessage {
  deploymentId: string;
  /** The run, for replicas of releases that read no `outcome` (they re-read the runs). */
  runId?: string;
  /** How the run settled; absent from replicas of older releases (the driver re-reads the store). */
  outcome?: RunOutcome;
  /** The sender, which ignores its own wake-up. */
  from: string;
}

/** A person's decision as the engine takes it (its time is the driver's). */
export type WireDecision = Parameters<EnginePeers['decide']>[2];

/** A person's decision as it travels to the replica that drives the deployment. */
export interface DecisionMessage {
  deploymentId: string;
  decision: WireDecision;
}

/** The driver's answer to a decision: the deployment's view, or the error it raised. */
export type DecisionAnswer = { view: DeploymentView } | { error: BorealisWireError };

/** An agent credential was revoked or changed on replica `from`. */
export interface CredentialMessage {
  clientId: string;
  revoked: boolean;
  from: string;
}

/** One page of a replica's agent presence (see `presence.ts`). */
export interface PresenceMessage {
  replicaId: string;
  /**
   * Random per process: a replica restarted under the same id (a StatefulSet pod, a fixed
   * BOREALIS_REPLICA_ID) is a new incarnation whose epochs start again from 1.
   */
  incarnation?: string;
  /** Increases with every announcement of one incarnation; pages of one announcement share it. */
  epoch: number;
  page: number;
  pages: number;
  gone?: boolean;
  /**
   * "Still here", without the list: a replica alone on the bus sends only this. Its epoch is the
   * last full announcement's, so a replica that has that list (or one that predates this field)
   * only refreshes the TTL.
   */
  alive?: boolean;
  connections: AgentConnectionInfo[];
}

/**
 * The bus headers of one forwarding-link message (its body is tunnel frame bytes): which side of
 * the link it is for, which link, and — on the link's last message — why it closed.
 */
export interface LinkEnvelope {
  /** `toResponder`: for the replica answering calls; `toRequester`: for the one making them. */
  side: 'toResponder' | 'toRequester';
  /** Names the requester's tunnel; a new one (after a restart or failure) replaces the old. */
  session: string;
  close?: { code: number; reason: string };
}

const LINK_SIDES = { toResponder: 'q', toRequester: 's' } as const;

/** Forwarding-link headers: short names, as they ride on every frame. */
export const LinkHeaders = {
  encode(e: LinkEnvelope): Record<string, string> {
    const h: Record<string, string> = { k: LINK_SIDES[e.side], t: e.session };
    if (e.close) {
      h.c = String(e.close.code);
      h.r = e.close.reason;
    }
    return h;
  },
  decode(h: Record<string, string>): LinkEnvelope | ClusterMessageError {
    const side =
      h.k === LINK_SIDES.toResponder
        ? 'toResponder'
        : h.k === LINK_SIDES.toRequester
          ? 'toRequester'
          : undefined;
    if (!side) return new ClusterMessageError('forwarding link', `unknown side ${JSON.stringify(h.k)}`);
    if (!h.t) return new ClusterMessageError('forwarding link', 'no link session');
    if (h.c === undefined) return { side, session: h.t };
    const code = Number(h.c);
    if (!Number.isInteger(code))
      return new ClusterMessageError('forwarding link', `close code ${JSON.stringify(h.c)}`);
    return { side, session: h.t, close: { code, reason: h.r ?? '' } };
  },
};

/** Why a bus message was rejected: the caller logs it and drops the message. */
export class ClusterMessageError extends Error {
  constructor(kind: string, problem: string) {
    super(`Rejected a cluster "${kind}" message: ${problem}`);
    this.name = 'ClusterMessageError';
  }
}

export interface MessageCodec<T> {
  readonly kind: string;
  encode(message: T): Uint8Array;
  /** The message, or a `ClusterMessageError` saying what is wrong with it. Never throws. */
  decode(data: Uint8Array): T | ClusterMessageError;
}

/**
 * The message in `data`, or undefined after logging why it was rejected (a bad message is
 * dropped: it must never take the replica down).
 */
export function receiveMessage<T>(codec: MessageCodec<T>, data: Uint8Array, logger: Logger): T | undefined {
  const decoded = codec.decode(data);
  if (!(decoded instanceof ClusterMessageError)) return decoded;
  logger.error({ kind: codec.kind, bytes: data.byteLength }, decoded.message);
  return undefined;
}

type Fields = Record<string, unknown>;
/** Says what is wrong with a message's fields, or undefined when they are right. */
type Check = (m: Fields) => string | undefined;

function codec<T extends object>(kind: string, check: Check): MessageCodec<T> {
  return {
    kind,
    encode: (message) => Buffer.from(JSON.stringify({ v: CLUSTER_MESSAGE_VERSION, ...message })),
    decode(data) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(data).toString('utf8'));
      } catch (err) {
        return new ClusterMessageError(kind, `not JSON (${(err as Error).message})`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return new ClusterMessageError(kind, 'not a JSON object');
      }
      const { v = 1, ...fields } = parsed as Fields;
      if (v !== CLUSTER_MESSAGE_VERSION) {
        return new ClusterMessageError(
          kind,
          `format version ${JSON.stringify(v)}, this replica reads version ${CLUSTER_MESSAGE_VERSION} (are replicas of different releases running?)`,
        );
      }
      const problem = check(fields);
      return problem === undefined ? (fields as T) : new ClusterMessageError(kind, problem);
    },
  };
}

// ---- field checks ------------------------------------------------------------------------------

const isObject = (x: unknown): x is Fields => typeof x === 'object' && x !== null && !Array.isArray(x);

type FieldType = 'string' | 'number' | 'boolean' | 'object';

/** The first field of `m` that is not of its type (absent ones too, unless `optional`). */
function need(
  m: Fields,
  types: Record<string, FieldType>,
  optional = false,
  prefix = '',
): string | undefined {
  for (const [name, type] of Object.entries(types)) {
    const value = m[name];
    if (value === undefined && optional) continue;
    if (type === 'object' ? !isObject(value) : typeof value !== type) {
      return `${prefix}${name} must be a${type === 'object' ? 'n' : ''} ${type}${value === undefined ? ', and is missing' : ''}`;
    }
  }
  return undefined;
}

function connectionProblem(connections: unknown): string | undefined {
  if (!Array.isArray(connections)) return 'connections must be an array';
  for (const [i, c] of connections.entries()) {
    if (!isObject(c)) return `connections[${i}] must be an object`;
    const problem = need(
      c,
      {
        agentIdentifier: 'string',
        instanceId: 'string',
        sessionId: 'string',
        streamsInFlight: 'number',
        draining: 'boolean',
      },
      false,
      `connections[${i}].`,
    );
    if (problem) return problem;
  }
  return undefined;
}

const RUN_STATUSES: ReadonlyArray<unknown> = [
  'pending',
  'awaiting_callback',
  'succeeded',
  'failed',
  'cancelled',
] satisfies ReadonlyArray<RunOutcome['status']>;

function outcomeProblem(o: Fields): string | undefined {
  if (!RUN_STATUSES.includes(o.status)) return `outcome.status must be one of ${RUN_STATUSES.join(', ')}`;
  return (
    need(
      o,
      { id: 'string', deploymentId: 'string', environment: 'string', location: 'string' },
      false,
      'outcome.',
    ) ?? need(o, { reason: 'string', mdMessage: 'string' }, true, 'outcome.')
  );
}

function decisionProblem(d: Fields): string | undefined {
  if (!(DECISION_ACTIONS as readonly unknown[]).includes(d.action)) {
    return `decision.action must be one of ${DECISION_ACTIONS.join(', ')}`;
  }
  if (!Array.isArray(d.roles) || !d.roles.every((r) => typeof r === 'string')) {
    return 'decision.roles must be an array of strings';
  }
  if (d.tokenId !== undefined && d.tokenId !== null && typeof d.tokenId !== 'string') {
    return 'decision.tokenId must be a string or null';
  }
  return (
    need(d, { who: 'string' }, false, 'decision.') ??
    need(d, { environment: 'string', reason: 'string', source: 'string' }, true, 'decision.')
  );
}

/** Every message the bus carries between replicas, by kind. */
export const ClusterMessages = {
  wake: codec<WakeMessage>(
    'wake',
    (m) =>
      need(m, { deploymentId: 'string', from: 'string' }) ??
      need(m, { runId: 'string', outcome: 'object' }, true) ??
      (m.outcome === undefined ? undefined : outcomeProblem(m.outcome as Fields)),
  ),
  decision: codec<DecisionMessage>(
    'decision',
    (m) => need(m, { deploymentId: 'string', decision: 'object' }) ?? decisionProblem(m.decision as Fields),
  ),
  decisionAnswer: codec<DecisionAnswer>('decision answer', (m) => {
    if (m.error === undefined) return need(m, { view: 'object' });
    if (!isObject(m.error)) return 'error must be an object';
    return (
      need(m.error, { code: 'string' }, false, 'error.') ??
      need(m.error, { message: 'string', retryable: 'boolean', details: 'object' }, true, 'error.')
    );
  }),
  credential: codec<CredentialMessage>('credential', (m) =>
    need(m, { clientId: 'string', revoked: 'boolean', from: 'string' }),
  ),
  presence: codec<PresenceMessage>(
    'presence',
    (m) =>
      need(m, { replicaId: 'string', epoch: 'number', page: 'number', pages: 'number' }) ??
      need(m, { incarnation: 'string', gone: 'boolean', alive: 'boolean' }, true) ??
      (m.gone === true && m.connections === undefined ? undefined : connectionProblem(m.connections)),
  ),
} as const;
