import type { Readable } from 'node:stream';
import type { BodySource, HeaderList, RequestHead, TunnelStream } from '@borealis/protocol';
import type { AgentConnectionInfo } from './agent-session.js';

/** An answer that came back from the replica holding the agent's connection. */
export interface ForwardedResponse {
  status: number;
  headers: HeaderList;
  body: Readable;
  instanceId: string;
  sessionId: string;
  replicaId: string;
  /** The link's stream, when the answer comes over a tunnel (its failures can be mapped). */
  stream?: TunnelStream;
}

/**
 * What the hub needs from the cluster to reach agents connected to other replicas. Defined here,
 * implemented by `cluster/`, so the relay does not depend on how replicas talk.
 */
export interface RemoteAgents {
  /** Live connections on other replicas (from presence; a few seconds stale at most). */
  connections(): Array<AgentConnectionInfo & { replicaId: string }>;
  forward(
    replicaId: string,
    agentIdentifier: string,
    head: RequestHead,
    body: BodySource | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ForwardedResponse>;
}
