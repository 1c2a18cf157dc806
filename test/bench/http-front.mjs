// What the plain proxy and the tunnel front share: turning an incoming node:http request into a
// call (`forward`) and streaming the answer back, with cancellation when the caller goes away.
import { pipeline } from 'node:stream/promises';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);

/** Request headers to forward, as [name, value] pairs (hop-by-hop ones dropped). */
export function forwardedHeaders(rawHeaders) {
  const out = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) out.push([rawHeaders[i], rawHeaders[i + 1]]);
  }
  return out;
}

export function hasBody(req) {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * `forward(req, signal)` resolves with {status, headers: [[name, value]], body: Readable} and,
 * from the tunnel, `takeWholeBody()` (the relay's DispatchResponse).
 * Errors before the head answer 502 with the message; errors after it cut the response.
 */
export function makeHandler(forward) {
  return (req, res) => {
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) ac.abort(new Error('caller went away'));
    });
    forward(req, ac.signal).then(
      (out) => {
        const headers = [];
        for (const [name, value] of out.headers) {
          if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, value);
        }
        // A small answer that came whole (the tunnel's one-frame REPLY): head and body in one
        // write, with no stream pipeline per call.
        const whole = out.takeWholeBody?.();
        if (whole !== undefined) {
          res.writeHead(out.status, headers);
          res.end(whole);
          return;
        }
        res.writeHead(out.status, headers);
        pipeline(out.body, res).catch(() => {
          res.destroy();
        });
      },
      (err) => {
        req.resume();
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const body = JSON.stringify({
          error: { code: err.code ?? 'BENCH_FORWARD_FAILED', message: err.message },
        });
        res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    );
  };
}
