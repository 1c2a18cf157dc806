/**
 * The tunnel's frames. On the wire each frame is a msgpack array whose first element is the
 * frame type and whose second is the stream id (0 for connection-level frames); arrays rather
 * than maps keep frames small and leave no room for unexpected keys.
 *
 * Only the requester (the control plane) opens streams; the responder (the agent) answers them.
 */
export const FrameType = {
  open: 1,
  response: 2,
  data: 3,
  end: 4,
  credit: 5,
  reset: 6,
  ping: 7,
  pong: 8,
  drain: 9,
  welcome: 10,
  streams: 11,
  // Protocol v2 only: a small call, or a small answer, in one message.
  call: 12,
  reply: 13,
} as const;
export type FrameTypeName = keyof typeof FrameType;

/** Header lists keep order and repeats (set-cookie), so they are pairs, never a map. */
export type HeaderList = Array<[string, string]>;

/** What the requester asks for when it opens a stream (an OPEN frame without its stream id). */
export interface RequestHead {
  method: string;
  url: string;
  headers: HeaderList;
  timeoutMs: number;
  /** The path as the agent may log it (see `OpenFrame.logUrl`); absent: the agent decides. */
  logUrl?: string;
}

/** The responder's answer head (a RESPONSE frame without its stream id). */
export interface ResponseHead {
  status: number;
  headers: HeaderList;
}

export interface OpenFrame {
  type: 'open';
  stream: number;
  method: string;
  url: string;
  headers: HeaderList;
  /** Milliseconds the responder may spend on the whole call; 0 = no limit of its own. */
  timeoutMs: number;
  /**
   * Optional 7th field: the path as the responder may log it (no query, secret-rendered parts
   * masked). Sent only to agents that announced `AgentFeatures.logUrl`.
   */
  logUrl?: string;
}
/**
 * v2: OPEN with the request body in the same message — all of it when `end` (a small request is
 * one frame), else its first bytes, the rest following as DATA. `body` counts against the window.
 */
export interface CallFrame extends Omit<OpenFrame, 'type'> {
  type: 'call';
  body: Uint8Array;
  end: boolean;
}
/** v2: RESPONSE with the body in the same message (all of it when `end`); counts against the window. */
export interface ReplyFrame {
  type: 'reply';
  stream: number;
  status: number;
  headers: HeaderList;
  body: Uint8Array;
  end: boolean;
}
export interface ResponseFrame {
  type: 'response';
  stream: number;
  status: number;
  headers: HeaderList;
}
export interface DataFrame {
  type: 'data';
  stream: number;
  chunk: Uint8Array;
}
/** The sender's body direction is complete (half-close). */
export interface EndFrame {
  type: 'end';
  stream: number;
}
/** The sender's reader consumed `bytes`: the peer may send that many more on the stream. */
export interface CreditFrame {
  type: 'credit';
  stream: number;
  bytes: number;
}
export interface ResetFrame {
  type: 'reset';
  stream: number;
  code: string;
  message: string;
  retryable: boolean;
}
export interface PingFrame {
  type: 'ping';
  stream: 0;
  nonce: number;
}
export interface PongFrame {
  type: 'pong';
  stream: 0;
  nonce: number;
}
/** The responder is shutting down: finish what is in flight, send nothing new. */
export interface DrainFrame {
  type: 'drain';
  stream: 0;
}
/** First frame from the control plane: who the agent is talking to and the limits in force. */
export interface WelcomeFrame {
  type: 'welcome';
  stream: 0;
  sessionId: string;
  maxStreams: number;
  window: number;
  heartbeatMs: number;
}

/**
 * Periodic reconciliation: the streams the sender has open, and the highest stream id it knows
 * of. The receiver reaps any stream it holds that the sender should know (id <= highest) but
 * does not list — a safety net against leaks, never the normal way a stream ends.
 */
export interface StreamsFrame {
  type: 'streams';
  stream: 0;
  highest: number;
  ids: number[];
}

export type Frame =
  | CallFrame
  | ReplyFrame
  | StreamsFrame
  | OpenFrame
  | ResponseFrame
  | DataFrame
  | EndFrame
  | CreditFrame
  | ResetFrame
  | PingFrame
  | PongFrame
  | DrainFrame
  | WelcomeFrame;

/** Limits every decoder enforces, whoever sent the bytes. */
export const Limits = {
  /** Largest WebSocket message either side accepts. */
  maxMessageBytes: 256 * 1024,
  /** Largest body chunk in one DATA frame (protocol v1 and v2), and in a CALL or REPLY frame. */
  maxChunkBytes: 64 * 1024,
  /**
   * Largest body chunk in one DATA frame from protocol v3 on: a large body travels in a third as
   * many messages (each costs both ends a write, a read, a decode and a push); with its head it
   * still fits in `maxMessageBytes`.
   */
  maxDataChunkBytesV3: 192 * 1024,
  maxUrlLength: 8 * 1024,
  maxHeaderCount: 256,
  maxHeaderBytes: 64 * 1024,
  maxMessageTextLength: 4 * 1024,
  maxStreamId: 2 ** 53 - 1,
  /** Most stream ids one reconciliation frame lists (past that, reconciliation is skipped). */
  maxReconcileIds: 16_384,
  /** Largest window a peer may announce or credit in one frame. */
  maxWindowBytes: 64 * 1024 * 1024,
} as const;

export const DEFAULT_WINDOW_BYTES = 256 * 1024;
