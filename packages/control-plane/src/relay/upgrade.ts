import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  AGENT_CONNECT_PATH,
  AGENT_IDENTIFIER_PATTERN,
  AGENT_IDENTIFIER_RULE,
  AgentHeaders,
  Limits,
  PROTOCOL_VERSION,
  parseAgentFeatures,
  parseOfferedVersions,
  SUBPROTOCOL,
  SUPPORTED_VERSIONS_HEADER,
} from '@borealis/protocol';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { BorealisError } from '../errors.js';
import type { AgentCredentialRepository } from '../store/index.js';
import { isIdentifierAllowed, isWildcardCredential } from '../store/index.js';
import type { CredentialGuard } from './credential-guard.js';
import type { RelayHub } from './relay-hub.js';

const IDENTIFIER = AGENT_IDENTIFIER_PATTERN;

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
    maxPayload: Limits.maxMessageBytes,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
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
        wss.handleUpgrade(req, socket, head, (ws) => {
          const session = deps.hub.accept(ws, meta);
          void deps.guard?.registered(session);
        });
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
  if (!offered.includes(PROTOCOL_VERSION)) {
    const theirs =
      offered.length === 0
        ? 'no Borealis tunnel protocol'
        : `protocol version ${offered.map(String).join(', ')}`;
    throw new BorealisError(
      'BRL_ERR_PROTOCOL_VERSION',
      `The agent offers ${theirs}; this control plane speaks protocol version ${PROTOCOL_VERSION}. Run an agent release that matches the control plane's.`,
      { details: { agentVersions: offered.map(String), controlPlaneVersion: PROTOCOL_VERSION } },
    );
  }
  const auth = headerOf(req, 'authorization') ?? '';
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(auth);
  const decoded = m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw new BorealisError(
      'BRL_ERR_AGENT_AUTH',
      'Agent credentials are missing: send Authorization: Basic base64(clientId:clientSecret) (set BOREALIS_CLIENT_ID and BOREALIS_CLIENT_SECRET on the agent)',
    );
  }
  const clientId = decoded.slice(0, colon);
  const checked = await deps.credentials.check(clientId, decoded.slice(colon + 1));
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
  if (!IDENTIFIER.test(agentIdentifier)) {
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

const reasonPhrases: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  426: 'Upgrade Required',
  500: 'Internal Server Error',
};

function refuse(socket: Duplex, err: BorealisError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(err.toJSON());
  const extra =
    err.code === 'BRL_ERR_PROTOCOL_VERSION'
      ? `${SUPPORTED_VERSIONS_HEADER}: ${PROTOCOL_VERSION}\r\nUpgrade: websocket\r\n`
      : '';
  socket.end(
    `HTTP/1.1 ${err.status} ${reasonPhrases[err.status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      extra +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
