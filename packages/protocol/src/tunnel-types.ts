import type { ProtocolError } from './errors.js';
import type { RequestHead, ResponseHead, WelcomeFrame } from './frames.js';
import type { TunnelStream } from './tunnel-stream.js';

// The Tunnel's options and the shapes it hands out, apart from the class (see tunnel.ts).

export type TunnelRole = 'requester' | 'responder';

export interface FrameSink {
  /** Sends one binary message; `done` runs once it has been written out (or failed). */
  send(bytes: Uint8Array, done: (err?: Error) => void): void;
  /** Closes the underlying connection. The owner then calls `tunnel.transportClosed()`. */
  close(code: number, reason: string): void;
}

export interface TunnelResponse extends ResponseHead {
  body: TunnelStream['body'];
  stream: TunnelStream;
}

export interface TunnelOptions {
  role: TunnelRole;
  sink: FrameSink;
  /**
   * The protocol version both ends agreed on in the handshake (default 1). From 2 on, a small
   * call and its small answer each travel as one frame, and the responder pings only when the
   * requester's pings stop coming (they tell both sides that the other lives). From 3 on, a DATA
   * frame carries up to `Limits.maxDataChunkBytesV3` bytes.
   */
  version?: 1 | 2 | 3;
  /** Bytes a peer may send on one stream before the reader credits them (both directions). */
  window?: number;
  /** Concurrent streams: the most this side opens (requester) or accepts (responder). */
  maxConcurrentStreams?: number;
  heartbeatIntervalMs?: number;
  /** No frame from the peer for this long: the connection is dead. */
  heartbeatTimeoutMs?: number;
  /** How often each side lists its open streams so the peer can reap leaked ones (ms; 0 = never). */
  reconcileIntervalMs?: number;
  /** Bytes handed to the sink and not yet written out, past which stream writers wait. */
  maxOutstandingBytes?: number;
  /** Responder: a new stream. Reading `stream.body` gives the request body. */
  onStream?: (stream: TunnelStream, head: RequestHead) => void;
  /** Requester: the peer announced that it is draining. */
  onPeerDraining?: () => void;
  /** Responder: the requester's WELCOME. */
  onWelcome?: (welcome: WelcomeFrame) => void;
  onHeartbeat?: (rttMs: number) => void;
  /** Runs once, when the connection is gone (closed by either side or failed). */
  onClose?: (info: TunnelCloseInfo) => void;
  /** Requester: the session id announced in WELCOME. */
  sessionId?: string;
}

export interface TunnelCloseInfo {
  code: number;
  reason: string;
  /** Set when this side ended the connection because of the peer's protocol violation or silence. */
  error?: ProtocolError;
}

export interface TunnelStats {
  streams: number;
  bufferedBytes: number;
  outstandingBytes: number;
  lastFrameAt: number;
  lastHeartbeatAt: number | null;
  rttMs: number | null;
}
