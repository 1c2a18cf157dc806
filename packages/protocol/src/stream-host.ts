import type { ProtocolError } from './errors.js';
import type { Frame, ResponseHead } from './frames.js';

// What a TunnelStream is built on, kept out of tunnel-stream.ts.

/** What a stream's outgoing body can be made from. */
export type BodySource = AsyncIterable<Uint8Array | string> | Uint8Array | string | null;

/**
 * What a stream needs from the connection it runs on (the `Tunnel` provides it): declared here,
 * so a stream depends on this small face and the tunnel on the stream, never both ways.
 */
export interface StreamHost {
  /** `requester` opens streams, `responder` answers them. */
  readonly role: 'requester' | 'responder';
  /** The most body bytes a head may carry in its own frame (protocol v2); 0: heads go alone (v1). */
  readonly inlineLimit: number;
  /** Largest chunk one DATA frame may carry on this connection. */
  readonly maxDataChunk: number;
  /** Sends one frame on the connection (dropped once it is closed). */
  send(frame: Frame): void;
  /** Sends one frame encoded already (a DATA frame built in place). */
  sendEncoded(bytes: Uint8Array): void;
  /** Resolves when the socket has room for more body bytes; undefined when it has room now. */
  socketReady(): Promise<void> | undefined;
  /** The stream is over on this side: forget it. */
  finished(id: number): void;
}

export const noop = (): void => {};

/** A responder stream's `responseHead`: it never gets one. */
export const NO_HEAD: Promise<ResponseHead> = new Promise(() => {});

/** Listeners for a stream's failure (`TunnelStream.whenFailed`): each runs at most once. */
export class FailureListeners {
  private fns: Array<(err: ProtocolError) => void> | undefined;

  /** Adds `fn`, or runs it at once if the stream has `failed` already; returns its removal. */
  add(fn: (err: ProtocolError) => void, failed: ProtocolError | undefined): () => void {
    if (failed) {
      fn(failed);
      return noop;
    }
    this.fns ??= [];
    const fns = this.fns;
    fns.push(fn);
    return () => {
      const i = fns.indexOf(fn);
      if (i >= 0) fns.splice(i, 1);
    };
  }

  run(err: ProtocolError): void {
    const fns = this.fns;
    this.fns = undefined;
    if (fns) for (const fn of fns) fn(err);
  }
}
