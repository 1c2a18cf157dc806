/**
 * The tunnel's error catalogue. Errors that cross the tunnel are data — `{code, message,
 * retryable}` in a RESET frame — and every protocol violation also names the WebSocket close
 * code the offended side closes the connection with.
 */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  /** Private range (4000–4999): ours. */
  heartbeatTimeout: 4000,
  drained: 4001,
  replaced: 4002,
  /** The agent's credential was revoked: redialling cannot help (the agent stops dialling). */
  credentialRevoked: 4003,
  /** The credential no longer allows this identifier (its identifiers were changed). */
  identifierNotAllowed: 4004,
} as const;

export const ProtocolErrorCatalogue = {
  BRL_PROTO_MALFORMED_FRAME: {
    close: CloseCodes.protocolError,
    retryable: false,
    message: 'Malformed frame',
  },
  BRL_PROTO_UNKNOWN_FRAME_TYPE: {
    close: CloseCodes.protocolError,
    retryable: false,
    message: 'Unknown frame type',
  },
  BRL_PROTO_FRAME_TOO_LARGE: {
    close: CloseCodes.messageTooBig,
    retryable: false,
    message: 'Frame too large',
  },
  BRL_PROTO_UNKNOWN_STREAM: {
    close: CloseCodes.protocolError,
    retryable: false,
    message: 'Frame for a stream the sender does not own',
  },
  BRL_PROTO_STREAM_NOT_ALLOWED: {
    close: CloseCodes.policyViolation,
    retryable: false,
    message: 'This side may not open streams',
  },
  BRL_PROTO_DUPLICATE_STREAM: {
    close: CloseCodes.protocolError,
    retryable: false,
    message: 'Stream id already in use',
  },
  BRL_PROTO_FLOW_CONTROL: {
    close: CloseCodes.protocolError,
    retryable: false,
    message: 'Peer sent more than its window allows',
  },
  BRL_PROTO_HEARTBEAT_TIMEOUT: {
    close: CloseCodes.heartbeatTimeout,
    retryable: true,
    message: 'No frame from the peer within the heartbeat timeout',
  },
  // Stream-level outcomes carried in RESET frames (the connection stays up).
  BRL_STREAM_CANCELLED: { close: null, retryable: false, message: 'The stream was cancelled' },
  BRL_STREAM_DESTINATION_REFUSED: {
    close: null,
    retryable: false,
    message: 'Destination not allowed by the agent allow-list',
  },
  BRL_STREAM_CONNECT_FAILED: {
    close: null,
    retryable: true,
    message: 'The agent could not connect to the destination',
  },
  BRL_STREAM_UPSTREAM_ERROR: {
    close: null,
    retryable: true,
    message: 'The destination failed while answering',
  },
  BRL_STREAM_TIMEOUT: { close: null, retryable: true, message: 'The request timed out at the agent' },
  BRL_STREAM_BUSY: {
    close: null,
    retryable: true,
    message: 'The agent is at its limit of concurrent streams',
  },
  BRL_STREAM_DRAINING: {
    close: null,
    retryable: true,
    message: 'The agent is draining and takes no new streams',
  },
  BRL_STREAM_BAD_REQUEST: {
    close: null,
    retryable: false,
    message: 'The request in the OPEN frame is not valid',
  },
  BRL_STREAM_DISCONNECTED: {
    close: null,
    retryable: true,
    message: 'The tunnel closed while the stream was open',
  },
  BRL_STREAM_INTERNAL: { close: null, retryable: false, message: 'Internal error at the peer' },
} as const;

export type ProtocolErrorCode = keyof typeof ProtocolErrorCatalogue;

export function isProtocolErrorCode(code: unknown): code is ProtocolErrorCode {
  return typeof code === 'string' && Object.hasOwn(ProtocolErrorCatalogue, code);
}

/** A violation of the protocol or a stream's failure, as data that can cross the tunnel. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly retryable: boolean;
  /** WebSocket close code when this error ends the connection; null for stream-level errors. */
  readonly closeCode: number | null;

  constructor(
    code: ProtocolErrorCode,
    message?: string,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    const entry = ProtocolErrorCatalogue[code];
    super(message ?? entry.message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ProtocolError';
    this.code = code;
    this.retryable = options.retryable ?? entry.retryable;
    this.closeCode = entry.close;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }

  static fromWire(err: WireError): ProtocolError {
    const code = isProtocolErrorCode(err.code) ? err.code : 'BRL_STREAM_INTERNAL';
    return new ProtocolError(code, err.message, { retryable: err.retryable });
  }
}

export interface WireError {
  code: string;
  message: string;
  retryable: boolean;
}

/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.byteLength <= 123) return text;
  return `${buf
    .subarray(0, 119)
    .toString('utf8')
    .replace(/\uFFFD+$/, '')}...`;
}

/** A frame of a type the sending peer's role may not send (an agent opening a stream, say). */
export function notAllowed(type: string): ProtocolError {
  return new ProtocolError('BRL_PROTO_STREAM_NOT_ALLOWED', `A ${type} frame may not be sent by this peer`);
}
