/**
 * @borealis/protocol: the tunnel between control plane and agent — frames and their codec, the
 * `Tunnel` multiplexer and its streams, the upgrade handshake (`handshake.ts`), the WebSocket glue
 * both ends share (`websocket-transport.ts`), the character rules for what crosses the wire
 * (`validation.ts`) the log format both programs print and the command line
 * they take (`program-args.ts`). No sockets are opened here.
 */
export { decodeFrame, encodeFrame } from './codec.js';
export { type BareNumbers, DURATION_UNITS, formatDuration, isBareNumber, parseDuration } from './duration.js';
export {
  CloseCodes,
  isProtocolErrorCode,
  ProtocolError,
  ProtocolErrorCatalogue,
  type ProtocolErrorCode,
  type WireError,
} from './errors.js';
export {
  DEFAULT_WINDOW_BYTES,
  type Frame,
  FrameType,
  type HeaderList,
  Limits,
  type RequestHead,
  type ResponseHead,
  type WelcomeFrame,
} from './frames.js';
export {
  AGENT_CONNECT_PATH,
  AgentFeatures,
  AgentHeaders,
  acceptSubprotocol,
  type BasicCredentials,
  encodeBasicCredentials,
  encodeRefusal,
  isPermanentRefusal,
  MAX_REFUSAL_BODY_BYTES,
  offeredSubprotocols,
  parseAgentFeatures,
  parseBasicCredentials,
  parseOfferedVersions,
  parseRefusal,
  type Refusal,
  readRefusalBody,
  SUPPORTED_VERSIONS_HEADER,
  TUNNEL_WEBSOCKET_OPTIONS,
} from './handshake.js';
export { HeartbeatDefaults, heartbeatDetectionBoundMs, heartbeatTimeoutMs } from './heartbeat.js';
export { serializeError } from './log-serializers.js';
export { packageVersion } from './package-version.js';
export { createPrettyLogStream, LOG_FORMATS, prettyLogLine } from './pretty-log.js';
export { answerProgramArgs, type ProgramArgs, parseProgramArgs, withDefaults } from './program-args.js';
export {
  closeReason,
  type FrameSink,
  Tunnel,
  type TunnelCloseInfo,
  type TunnelOptions,
  type TunnelResponse,
  type TunnelRole,
  type TunnelStats,
} from './tunnel.js';
export { type BodySource, TunnelStream } from './tunnel-stream.js';
export {
  AGENT_IDENTIFIER_PATTERN,
  AGENT_IDENTIFIER_RULE,
  HEADER_VALUE_PATTERN,
  HTTP_TOKEN_PATTERN,
  isAgentIdentifier,
  isHeaderValue,
  isHttpToken,
} from './validation.js';
export {
  KUBERNETES_API_HOST,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  SUBPROTOCOL_PREFIX,
  SUBPROTOCOL_V2,
  SUBPROTOCOL_V3,
  SUPPORTED_PROTOCOL_VERSIONS,
  subprotocolVersion,
  versionsPhrase,
} from './version.js';
export {
  dropIfSilent,
  messageBytes,
  type TunnelSocket,
  toBytes,
  webSocketSink,
} from './websocket-transport.js';
