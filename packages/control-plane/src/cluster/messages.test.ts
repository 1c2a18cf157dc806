import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BorealisError } from '../errors.js';
import { createInProcessNetwork } from './in-process-bus.js';
import {
  CLUSTER_MESSAGE_VERSION,
  ClusterMessageError,
  ClusterMessages,
  LinkHeaders,
  type MessageCodec,
} from './messages.js';
import { ClusterPresence } from './presence.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

function rejection<T>(codec: MessageCodec<T>, data: Uint8Array): string {
  const decoded = codec.decode(data);
  expect(decoded).toBeInstanceOf(ClusterMessageError);
  return (decoded as ClusterMessageError).message;
}

const connection = {
  agentIdentifier: 'prod-eu',
  instanceId: 'i-1',
  version: '1.0.0',
  clientId: 'c-1',
  remoteAddress: '10.0.0.1',
  credentialName: 'eu',
  wildcard: false,
  features: ['log-url'],
  sessionId: 's-1',
  connectedAt: 1,
  lastHeartbeatAt: null,
  lastFrameAt: 2,
  rttMs: null,
  streamsInFlight: 0,
  bufferedBytes: 0,
  draining: false,
};

describe('cluster message codec', () => {
  it.each([
    ['wake', ClusterMessages.wake, { deploymentId: 'd-1', runId: 'r-1', from: 'a' }],
    ['wake without a run', ClusterMessages.wake, { deploymentId: 'd-1', from: 'a' }],
    [
      'wake with the outcome',
      ClusterMessages.wake,
      {
        deploymentId: 'd-1',
        runId: 'r-1',
        outcome: {
          id: 'r-1',
          status: 'failed',
          reason: 'HTTP 500',
          deploymentId: 'd-1',
          environment: 'prod',
          location: 'prod/step 1',
        },
        from: 'a',
      },
    ],
    [
      'decision',
      ClusterMessages.decision,
      {
        deploymentId: 'd-1',
        decision: { action: 'approve', environment: 'prod', who: 'ana', roles: ['admin'], tokenId: null },
      },
    ],
    ['decision answer (view)', ClusterMessages.decisionAnswer, { view: { id: 'd-1', status: 'running' } }],
    [
      'decision answer (error)',
      ClusterMessages.decisionAnswer,
      { error: { code: 'BRL_ERR_DECISION_CONFLICT', message: 'no', retryable: false, details: {} } },
    ],
    ['credential', ClusterMessages.credential, { clientId: 'c-1', revoked: true, from: 'a' }],
    [
      'presence',
      ClusterMessages.presence,
      { replicaId: 'a', incarnation: 'x', epoch: 3, page: 0, pages: 1, connections: [connection] },
    ],
  ] as Array<[string, MessageCodec<object>, object]>)(
    '%s survives a round trip, stamped with the version',
    (_n, codec, message) => {
      const bytes = codec.encode(message);
      expect(JSON.parse(Buffer.from(bytes).toString('utf8')).v).toBe(CLUSTER_MESSAGE_VERSION);
      expect(codec.decode(bytes)).toEqual(message);
    },
  );

  it('reads a message without a version as version 1 (a replica of the release before the codec)', () => {
    expect(ClusterMessages.wake.decode(json({ deploymentId: 'd-1', from: 'a' }))).toEqual({
      deploymentId: 'd-1',
      from: 'a',
    });
  });

  it('rejects an unknown version, naming it and the one it reads', () => {
    const message = rejection(ClusterMessages.wake, json({ v: 2, deploymentId: 'd-1', from: 'a' }));
    expect(message).toContain('"wake"');
    expect(message).toContain('format version 2');
    expect(message).toContain(`reads version ${CLUSTER_MESSAGE_VERSION}`);
  });

  it.each([
    ['not JSON', ClusterMessages.wake, Buffer.from('{nope'), 'not JSON'],
    ['a JSON array', ClusterMessages.credential, json([1]), 'not a JSON object'],
    [
      'an outcome with an unknown status',
      ClusterMessages.wake,
      json({
        deploymentId: 'd',
        from: 'a',
        outcome: { id: 'r', status: 'maybe', deploymentId: 'd', environment: 'e', location: 'l' },
      }),
      'outcome.status must be one of pending',
    ],
    [
      'a missing field',
      ClusterMessages.wake,
      json({ from: 'a' }),
      'deploymentId must be a string, and is missing',
    ],
    [
      'a field of the wrong type',
      ClusterMessages.credential,
      json({ clientId: 'c', revoked: 'yes', from: 'a' }),
      'revoked must be a boolean',
    ],
    [
      'an unknown decision',
      ClusterMessages.decision,
      json({ deploymentId: 'd', decision: { action: 'delete', who: 'x', roles: [] } }),
      'decision.action must be one of approve',
    ],
    [
      'decision roles that are not strings',
      ClusterMessages.decision,
      json({ deploymentId: 'd', decision: { action: 'cancel', who: 'x', roles: [1] } }),
      'decision.roles must be an array of strings',
    ],
    [
      'an error without a code',
      ClusterMessages.decisionAnswer,
      json({ error: { message: 'x' } }),
      'error.code must be a string',
    ],
    ['an answer without a view', ClusterMessages.decisionAnswer, json({}), 'view must be an object'],
    [
      'a presence connection without its session',
      ClusterMessages.presence,
      json({ replicaId: 'a', epoch: 1, page: 0, pages: 1, connections: [{ ...connection, sessionId: 5 }] }),
      'connections[0].sessionId must be a string',
    ],
  ] as Array<[string, MessageCodec<object>, Uint8Array, string]>)(
    'rejects %s with the reason',
    (_n, codec, data, reason) => {
      expect(rejection(codec, data)).toContain(reason);
    },
  );

  it('forwarding-link headers survive a round trip; unknown sides and bad close codes are rejected', () => {
    const open = { side: 'toResponder', session: 's-1' } as const;
    const closing = { side: 'toRequester', session: 's-1', close: { code: 1001, reason: 'bye' } } as const;
    expect(LinkHeaders.decode(LinkHeaders.encode(open))).toEqual(open);
    expect(LinkHeaders.decode(LinkHeaders.encode(closing))).toEqual(closing);
    expect(LinkHeaders.decode({ k: 'x', t: 's-1' })).toBeInstanceOf(ClusterMessageError);
    expect(LinkHeaders.decode({ k: 'q' })).toBeInstanceOf(ClusterMessageError);
    expect(LinkHeaders.decode({ k: 'q', t: 's-1', c: 'soon' })).toBeInstanceOf(ClusterMessageError);
  });

  it('a malformed presence message is logged and dropped; the next good one is heard', async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const net = createInProcessNetwork();
    const presence = new ClusterPresence({ bus: net.join(), replicaId: 'a', local: () => [], logger });
    presence.start();
    const other = net.join();
    other.publish('presence', Buffer.from('garbage'));
    other.publish('presence', json({ v: 9, replicaId: 'b', epoch: 1, page: 0, pages: 1, connections: [] }));
    other.publish(
      'presence',
      ClusterMessages.presence.encode({ replicaId: 'b', epoch: 1, page: 0, pages: 1, connections: [] }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(presence.liveReplicas()).toEqual(['b']);
    const errors = lines.filter((l) => l.level === 50).map((l) => l.msg);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('not JSON');
    expect(errors[1]).toContain('format version 9');
    presence.close();
  });
});

describe('BorealisError on the wire', () => {
  it('survives a round trip with its code, message, retryable and details', () => {
    const err = new BorealisError('BRL_ERR_AGENT_BUSY', 'every agent is busy', {
      retryable: true,
      details: { agentIdentifier: 'prod-eu' },
    });
    const back = BorealisError.fromWire(JSON.parse(JSON.stringify(err.toWire())));
    expect(back).toBeInstanceOf(BorealisError);
    expect(back).toMatchObject({
      code: 'BRL_ERR_AGENT_BUSY',
      status: 503,
      message: 'every agent is busy',
      retryable: true,
      details: { agentIdentifier: 'prod-eu' },
    });
  });

  it("turns a code this release does not know into BRL_ERR_INTERNAL, and a missing message into the catalogue's", () => {
    const back = BorealisError.fromWire({ code: 'BRL_ERR_FROM_THE_FUTURE' });
    expect(back.code).toBe('BRL_ERR_INTERNAL');
    expect(back.message).toBe('Internal error');
    expect(back.retryable).toBe(false);
  });
});
