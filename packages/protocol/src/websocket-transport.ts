import type { FrameSink, TunnelCloseInfo } from './tunnel.js';

// The glue between a WebSocket and a `Tunnel`, written once for both ends (chisel shares its
// `share/cnet/conn_ws.go` the same way). It works on the few members of a WebSocket it needs —
// `ws`'s WebSocket fits — so the protocol package still opens no socket and imports no socket
// library.

/** The part of a WebSocket (ws's, structurally) the tunnel's sink needs. */
export interface TunnelSocket {
  readonly readyState: number;
  readonly OPEN: number;
  send(data: Uint8Array, options: { binary: true }, done: (err?: Error) => void): void;
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake. */
  terminate(): void;
}

/** The byte stream under a WebSocket (ws keeps it as `_socket`), for corking. */
interface Corkable {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
}

function underlyingSocket(ws: TunnelSocket): Corkable | undefined {
  const raw = (ws as { _socket?: Partial<Corkable> })._socket;
  return raw && typeof raw.cork === 'function' && typeof raw.uncork === 'function'
    ? (raw as Corkable)
    : undefined;
}

/**
 * The tunnel's `FrameSink` on a WebSocket: binary messages only, and a send on a socket that is
 * no longer open fails at once. `onSent` sees each message's size (for byte counters).
 *
 * Messages sent in one turn of the event loop leave in one write: the first send of a turn corks
 * the socket and a `setImmediate` (after the poll phase's other callbacks) uncorks it. Without it
 * each message was its own `writev` system call, the largest single cost per small call in
 * `--cpu-prof` on both ends; with many calls in flight, the frames of all the answers (or calls)
 * that came in during one poll phase now share one.
 */
export function webSocketSink(ws: TunnelSocket, onSent?: (bytes: number) => void): FrameSink {
  let corked: Corkable | undefined;
  const uncork = () => {
    const socket = corked;
    corked = undefined;
    socket?.uncork();
  };
  return {
    send: (bytes, done) => {
      if (ws.readyState !== ws.OPEN) {
        done(new Error('socket closed'));
        return;
      }
      onSent?.(bytes.byteLength);
      if (corked === undefined) {
        const socket = underlyingSocket(ws);
        if (socket && !socket.destroyed) {
          socket.cork();
          corked = socket;
          setImmediate(uncork);
        }
      }
      ws.send(bytes, { binary: true }, done);
    },
    close: (code, reason) => ws.close(code, reason),
  };
}

/**
 * The bytes of one received message, for `Tunnel.receive`. A text message is no frame: it comes
 * out empty, which the tunnel rejects as a malformed frame (closing with a reason).
 */
export function messageBytes(data: unknown, isBinary: boolean): Uint8Array {
  return isBinary ? toBytes(data) : new Uint8Array(0);
}

/** A received message's bytes, whichever of ws's binary types it arrived as. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(0);
}

/**
 * For the tunnel's `onClose`: a peer that went silent cannot answer a closing handshake, so its
 * socket is dropped at once rather than at ws's 30 s close timeout.
 */
export function dropIfSilent(ws: TunnelSocket, info: TunnelCloseInfo): void {
  if (info.error?.code === 'BRL_PROTO_HEARTBEAT_TIMEOUT') ws.terminate();
}
