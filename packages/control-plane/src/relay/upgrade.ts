import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  AGENT_CONNECT_PATH,
  AGENT_IDENTIFIER_RULE,
  AgentHeaders,
  acceptSubprotocol,
  encodeRefusal,
  isAgentIdentifier,
  PROTOCOL_VERSION,
  parseAgentFeatures,
  parseBasicCredentials,
  parseOfferedVersions,
  SUPPORTED_PROTOCOL_VERSIONS,
  TUNNEL_WEBSOCKET_OPTIONS,
  versionsPhrase,
} from '@borealis/protocol';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { BorealisError } from '../errors.js';
import type { AgentCredentialRepository } from '../store/index.js';
import { isIdentifierAllowed, isWildcardCredential } from '../store/index.js';
import type { CredentialGuard } from './credential-guard.js';
import type { RelayHub } from './relay-hub.js';

export interface UpgradeDeps {
  hub: RelayHub;
  credentials: AgentCredentialRepository;
  logger: Logger;
  /** Checks each session again once registered (a revocation may have raced the authentication). */
  guard?: CredentialGuard;
}

/**
 * Accepts agents on `GET /api/v1/agents/connect`. Everything is checked before the upgrade
 * completes — protocol version, credentials, the identifier the credential may serve — so a
 * refused agent gets an HTTP status and a JSON message it can log, not a dropped socket.
 */
export function createAgentUpgradeHandler(deps: UpgradeDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    ...TUNNEL_WEBSOCKET_OPTIONS,
    handleProtocols: acceptSubprotocol,
  });

  const handler = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== AGENT_CONNECT_PATH) {
      refuse(
        socket,
        new BorealisError(
          'BRL_ERR_NOT_FOUND',
          `No WebSocket endpoint at ${path}; agents dial ${AGENT_CONNECT_PATH}`,
        ),
      );
      return;
    }
    authenticate(req, deps).then(
      (meta) => {
        if (socket.destroyed) return;
        // ws writes the 101 answer and calls back at once, where the session sends WELCOME: corked,
        // both leave in one write (a system call less per connecting agent).
        socket.cork();
        try {
          wss.handleUpgrade(req, socket, head, (ws) => {
            const session = deps.hub.accept(ws, meta);
            void deps.guard?.registered(session);
          });
        } finally {
          socket.uncork();
        }
      },
      (err: unknown) => {
        const e =
          err instanceof BorealisError
            ? err
            : new BorealisError('BRL_ERR_INTERNAL', 'Agent authentication failed', { cause: err });
        deps.logger.warn(
          {
            code: e.code,
            status: e.status,
            remoteAddress: req.socket.remoteAddress,
            agentIdentifier: headerOf(req, AgentHeaders.identifier)?.slice(0, 140),
            ...(e.details?.clientId ? { clientId: e.details.clientId } : {}),
          },
          `refused an agent connection: ${e.message}`,
        );
        refuse(socket, e);
      },
    );
  };
  return { handler, close: () => wss.close() };
}

async function authenticate(req: IncomingMessage, deps: UpgradeDeps) {
  const offered = parseOfferedVersions(headerOf(req, 'sec-websocket-protocol'));
  if (!offered.some((v) => SUPPORTED_PROTOCOL_VERSIONS.includes(v))) {
    const theirs =
      offered.length === 0
        ? 'no Borealis tunnel protocol'
        : `protocol version ${offered.map(String).join(', ')}`;
    throw new BorealisError(
      'BRL_ERR_PROTOCOL_VERSION',
      `The agent offers ${theirs}; this control plane speaks protocol version ${versionsPhrase(SUPPORTED_PROTOCOL_VERSIONS)}. Run an agent release that matches the control plane's.`,
      {
        details: {
          agentVersions: offered.map(String),
          controlPlaneVersion: PROTOCOL_VERSION,
          controlPlaneVersions: SUPPORTED_PROTOCOL_VERSIONS.map(String),
        },
      },
    );
  }
  const basic = parseBasicCredentials(headerOf(req, 'authorization'));
  if (!basic) {
    throw new BorealisError(
      'BRL_ERR_AGENT_AUTH',
      'Agent credentials are missing: send Authorization: Basic base64(clientId:clientSecret) (set BOREALIS_CLIENT_ID and BOREALIS_CLIENT_SECRET on the agent)',
    );
  }
  const checked = await deps.credentials.check(basic.clientId, basic.clientSecret);
  if (checked.status === 'revoked') {
    throw new BorealisError(
      'BRL_ERR_AGENT_CREDENTIAL_REVOKED',
      `Agent credential ${checked.clientId} was revoked: create a new one (borealis agent-credentials create --name NAME --identifier ID), set BOREALIS_CLIENT_ID and BOREALIS_CLIENT_SECRET to it and restart the agent`,
      { details: { clientId: checked.clientId } },
    );
  }
  if (checked.status !== 'valid') {
    throw new BorealisError(
      'BRL_ERR_AGENT_AUTH',
      'Agent credentials are invalid: check BOREALIS_CLIENT_ID and BOREALIS_CLIENT_SECRET, or create new ones with `borealis agent-credentials create --name NAME --identifier ID`',
    );
  }
  const { credential } = checked;
  const agentIdentifier = headerOf(req, AgentHeaders.identifier) ?? '';
  if (!isAgentIdentifier(agentIdentifier)) {
    throw new BorealisError(
      'BRL_ERR_BAD_REQUEST',
      `Agent identifier ${JSON.stringify(agentIdentifier.slice(0, 140))} is not valid: ${AGENT_IDENTIFIER_RULE} (BOREALIS_AGENT_IDENTIFIER)`,
    );
  }
  if (credential.allowedIdentifiers.length === 0) {
    throw new BorealisError(
      'BRL_ERR_AGENT_IDENTIFIER_FORBIDDEN',
      `Credential ${credential.clientId} names no agent identifiers (it was created before credentials had to), so it may serve none: give it the identifiers it should serve (borealis agent-credentials set-identifiers ${credential.clientId} --identifier ${agentIdentifier}), or create a new credential with --identifier`,
      { details: { clientId: credential.clientId, agentIdentifier, allowedIdentifiers: [] } },
    );
  }
  if (!isIdentifierAllowed(credential, agentIdentifier)) {
    throw new BorealisError(
      'BRL_ERR_AGENT_IDENTIFIER_FORBIDDEN',
      `Credential ${credential.clientId} may not serve agent identifier "${agentIdentifier}" (allowed: ${credential.allowedIdentifiers.join(', ')}): set BOREALIS_AGENT_IDENTIFIER to one of those, or give the credential this identifier (borealis agent-credentials set-identifiers ${credential.clientId} --identifier ${agentIdentifier})`,
      {
        details: {
          clientId: credential.clientId,
          agentIdentifier,
          allowedIdentifiers: credential.allowedIdentifiers,
        },
      },
    );
  }
  return {
    agentIdentifier,
    instanceId: (headerOf(req, AgentHeaders.instanceId) ?? 'unknown').slice(0, 128),
    version: (headerOf(req, AgentHeaders.version) ?? 'unknown').slice(0, 64),
    clientId: credential.clientId,
    remoteAddress: req.socket.remoteAddress ?? 'unknown',
    credentialName: credential.name,
    wildcard: isWildcardCredential(credential),
    features: [...parseAgentFeatures(headerOf(req, AgentHeaders.features))],
  };
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function refuse(socket: Duplex, err: BorealisError): void {
  if (socket.destroyed) return;
  socket.end(
    encodeRefusal(err.status, err.toJSON(), { versionMismatch: err.code === 'BRL_ERR_PROTOCOL_VERSION' }),
  );
}
