import { CloseCodes } from '@borealis/protocol';
import type { Logger } from 'pino';
import type { AgentCredentialRepository, VerifiedAgentCredential } from '../store/index.js';
import { isIdentifierAllowed, isWildcardCredential } from '../store/index.js';
import type { AgentSession } from './agent-session.js';
import type { RelayHub } from './relay-hub.js';

export interface CredentialGuardOptions {
  hub: RelayHub;
  credentials: Pick<AgentCredentialRepository, 'active'>;
  logger: Logger;
  /** How often every live session's credential is checked again (the safety net); default 2 s. */
  sweepIntervalMs?: number;
}

export const DEFAULT_CREDENTIAL_SWEEP_MS = 2_000;

/**
 * Keeps live agent sessions true to their credentials: a credential revoked (or whose identifiers
 * changed) closes the sessions that used it, at once when told (`changed`, from the API route on
 * this replica or the cluster bus from another), and within one sweep interval otherwise. A
 * session is checked once more right after it registered, so an authentication that raced a
 * revocation cannot survive it: either that check sees the revocation, or the revocation's notice
 * comes after the session was registered and closes it.
 */
export class CredentialGuard {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** Sessions registered since the last check of new ones, and that check's promise. */
  private justRegistered: AgentSession[] = [];
  private registeredCheck: Promise<void> | undefined;

  constructor(private readonly options: CredentialGuardOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.sweep();
    }, this.options.sweepIntervalMs ?? DEFAULT_CREDENTIAL_SWEEP_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A session just registered: check its credential again. Sessions registered in the same turn
   * of the event loop are checked together, in one query, once it ends (agents reconnecting
   * after a restart arrive by the thousand); each is still checked after it registered.
   */
  registered(session: AgentSession): Promise<void> {
    this.justRegistered.push(session);
    this.registeredCheck ??= new Promise<void>((resolve) => {
      setImmediate(() => {
        const sessions = this.justRegistered;
        this.justRegistered = [];
        this.registeredCheck = undefined;
        void this.check(sessions).finally(resolve);
      });
    });
    return this.registeredCheck;
  }

  /**
   * `clientId` was revoked (`revoked`: no need to ask the store) or its identifiers changed:
   * judge this replica's sessions that use it now.
   */
  async changed(clientId: string, revoked: boolean): Promise<void> {
    const sessions = this.options.hub.sessionsOf(clientId);
    if (sessions.length === 0) return;
    if (revoked) {
      for (const s of sessions) this.closeRevoked(s);
      return;
    }
    await this.check(sessions);
  }

  /** Checks every live session of this replica against the store. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.check(this.options.hub.sessions());
    } finally {
      this.sweeping = false;
    }
  }

  private async check(sessions: AgentSession[]): Promise<void> {
    if (sessions.length === 0) return;
    let active: Map<string, VerifiedAgentCredential>;
    try {
      active = await this.options.credentials.active(sessions.map((s) => s.meta.clientId));
    } catch (err) {
      // The store is away: no revocation can be written either. Sessions stay; the next sweep asks again.
      this.options.logger.warn(
        { err: (err as Error).message },
        'could not check agent credentials; live sessions are checked again at the next sweep',
      );
      return;
    }
    for (const session of sessions) {
      if (session.tunnel.closed) continue;
      const credential = active.get(session.meta.clientId);
      if (!credential) {
        this.closeRevoked(session);
        continue;
      }
      if (!isIdentifierAllowed(credential, session.meta.agentIdentifier)) {
        session.logger.warn(
          { clientId: credential.clientId, allowedIdentifiers: credential.allowedIdentifiers },
          `closed the agent connection: credential ${credential.clientId} no longer allows identifier "${session.meta.agentIdentifier}"; give it the identifier again (borealis agent-credentials set-identifiers ${credential.clientId} --identifier ${session.meta.agentIdentifier}) or use another credential`,
        );
        session.close(
          CloseCodes.identifierNotAllowed,
          `credential ${credential.clientId} no longer allows identifier ${session.meta.agentIdentifier}`,
        );
        continue;
      }
      session.meta.credentialName = credential.name;
      session.meta.wildcard = isWildcardCredential(credential);
    }
  }

  private closeRevoked(session: AgentSession): void {
    if (session.tunnel.closed) return;
    session.logger.warn(
      { clientId: session.meta.clientId, streamsInFlight: session.streamsInFlight },
      `closed the agent connection: its credential ${session.meta.clientId} was revoked; its calls in flight fail as disconnected`,
    );
    session.close(CloseCodes.credentialRevoked, `agent credential ${session.meta.clientId} revoked`);
  }
}
