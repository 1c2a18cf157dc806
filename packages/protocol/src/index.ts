export { decodeFrame, encodeFrame } from './codec.js';
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
export { HeartbeatDefaults, heartbeatDetectionBoundMs, heartbeatTimeoutMs } from './heartbeat.js';
export {
  bitsOf,
  type Cidr,
  cidrContains,
  formatV4,
  type IpAddress,
  maskOf,
  parseCidr,
  parseIp,
  sameAddress,
} from './ip-address.js';
export { createPrettyLogStream, LOG_FORMATS, prettyLogLine } from './pretty-log.js';
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
  AGENT_CONNECT_PATH,
  AgentFeatures,
  AgentHeaders,
  KUBERNETES_API_HOST,
  PROTOCOL_VERSION,
  parseAgentFeatures,
  parseOfferedVersions,
  SUBPROTOCOL,
  SUBPROTOCOL_PREFIX,
  SUPPORTED_VERSIONS_HEADER,
} from './version.js';
