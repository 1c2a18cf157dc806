import type { ResponseHead } from './frames.js';
import type { TunnelStream } from './tunnel-stream.js';
import type { TunnelResponse } from './tunnel-types.js';

/** The requester's answer: its body made only when first asked for (see `TunnelStream.body`). */
export function tunnelResponse(head: ResponseHead, stream: TunnelStream): TunnelResponse {
  return {
    status: head.status,
    headers: head.headers,
    get body() {
      return stream.body;
    },
    stream,
  };
}
