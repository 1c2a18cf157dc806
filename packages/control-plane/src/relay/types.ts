import type { Readable } from 'node:stream';
import type { BodySource, HeaderList } from '@borealis/protocol';
import type { AgentConnectionInfo } from './agent-session.js';

// The relay's contracts: what the rest of the control plane calls to reach an agent, and what
// it gets back. `RelayHub` implements them.

export interface DispatchRequest {
  method: string;
  url: string;
  headers?: HeaderList | Record<string, string>;
  body?: BodySource;
  /** Whole-call limit; the agent enforces it too. 0 or absent: none. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * The path as the agent may log it: no query, secret-rendered parts masked. Agents that
   * announced `log-path` log this instead of the URL's path.
   */
  logUrl?: string;
}

export interface DispatchResponse {
  status: number;
  headers: HeaderList;
  body: Readable;
  /**
   * The whole body, when it came with the head in one frame (a small answer on protocol v2 and
   * later) and nothing has read `body` yet: taken out, after which `body` reads as empty, so a
   * caller can write the answer in one call instead of streaming it. Undefined otherwise (a
   * streamed or forwarded answer): read `body`. Absent where no tunnel stream carries the answer.
   */
  takeWholeBody?: () => Uint8Array | undefined;
  /** Which connection carried the call (recorded with webhook runs); `replicaId` when forwarded. */
  agent: { agentIdentifier: string; instanceId: string; sessionId: string; replicaId?: string };
}

/** The one door to agents: everything that needs an agent calls this. */
export interface Dispatcher {
  dispatch(agentIdentifier: string, request: DispatchRequest): Promise<DispatchResponse>;
  /**
   * True when a dispatch to `agentIdentifier` would find a connection that takes new calls now,
   * on this replica or (as presence last said) on another.
   */
  hasAgent(agentIdentifier: string): boolean;
  /**
   * Resolves true as soon as `hasAgent` would be true, false after `timeoutMs` or when `signal`
   * aborts. Calls nothing: a caller that must not fail while an agent restarts waits here first.
   */
  waitForAgent(
    agentIdentifier: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<boolean>;
}

export interface AgentGroup {
  agentIdentifier: string;
  /** Every connection on every replica; `replicaId` says which one holds it. */
  connections: Array<AgentConnectionInfo & { replicaId: string }>;
}
