// The control plane as its own process, built from packages/control-plane/dist, with a raw
// streaming HTTP front in the same process that forwards every request through
// `hub.dispatch(<agent identifier>, …)` to the target: the tunnel hop as a caller sees it.
// Bench-only; the product has no such proxy.
//
// argv[2]: the target's base URL (optional). Env: BENCH_AGENT_IDENTIFIER (default bench-rna),
// BENCH_STREAM_WINDOW (bytes; default: the product's).
// Prints {"msg":"ready", url, frontUrl, clientId, clientSecret, window} when both listen.
//
// Besides forwarding, the front answers:
//   GET  /bench/stats   memory (process.memoryUsage), CPU (process.cpuUsage), connections, streams
//   POST /bench/gc      a full garbage collection (the process runs with --expose-gc)
//   GET  /bench/tracked the largest bufferedBytes() seen on requests sent with `x-bench-track: 1`
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createControlPlane } from '@borealis/control-plane';
import pino from 'pino';
import { forwardedHeaders, hasBody, makeHandler } from './http-front.mjs';

const target = process.argv[2] ?? 'http://127.0.0.1:1';
const identifier = process.env.BENCH_AGENT_IDENTIFIER ?? 'bench-rna';
const dataDir = mkdtempSync(join(tmpdir(), 'brl-bench-cp-'));

const cp = await createControlPlane({
  port: 0,
  dataDir,
  apiToken: `bench-${Math.random().toString(36).slice(2)}-token`,
  logger: pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' }),
  // Experiments only (e.g. how throughput follows the window); the bench runs the defaults.
  ...(process.env.BENCH_STREAM_WINDOW ? { streamWindowBytes: Number(process.env.BENCH_STREAM_WINDOW) } : {}),
});
await cp.listen();
// The real agent's identifier, and the swarms' (agent-swarm.mjs names its agents idle<N>-<i>).
const cred = await cp.store.agentCredentials.create({
  name: 'bench',
  allowedIdentifiers: [identifier, 'idle*'],
});

/**
 * Tracked streams: the flow-control figure of a stream whose caller stops reading. DispatchResponse
 * hands out only the body, so tracked requests go through the picked connection's tunnel, whose
 * answer carries the TunnelStream; every received DATA frame then updates the peak.
 */
const tracked = { streams: 0, maxBuffered: 0, lastBuffered: 0, open: new Set() };

function track(stream) {
  tracked.streams++;
  tracked.open.add(stream);
  const onData = stream.onData.bind(stream);
  stream.onData = (chunk) => {
    onData(chunk);
    const b = stream.bufferedBytes();
    tracked.lastBuffered = b;
    if (b > tracked.maxBuffered) tracked.maxBuffered = b;
  };
  stream.body.once('close', () => tracked.open.delete(stream));
}

async function forward(req, signal) {
  const url = target + req.url;
  const headers = forwardedHeaders(req.rawHeaders);
  const body = hasBody(req) ? req : null;
  if (req.headers['x-bench-track'] === '1') {
    const session = cp.hub.sessions().find((x) => x.meta.agentIdentifier === identifier && !x.tunnel.closed);
    if (!session) throw new Error(`no session of ${identifier}`);
    const tunnel = session.tunnel;
    const res = await tunnel.request({ method: req.method, url, headers, timeoutMs: 0 }, body, signal);
    track(res.stream);
    return res;
  }
  return cp.hub.dispatch(identifier, { method: req.method, url, headers, body, signal });
}

const forwardHandler = makeHandler(forward);

function json(res, value) {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const front = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/bench/stats') {
    req.resume();
    // CPU first, and the connections walked only when streams are open: with 20,000 idle agents,
    // building the Agents list here was control-plane CPU inside the window the bench measures.
    const cpu = process.cpuUsage();
    const m = process.memoryUsage();
    let buffered = 0;
    if (cp.hub.streamsInFlight > 0)
      for (const s of cp.hub.sessions()) buffered += s.tunnel.stats().bufferedBytes;
    json(res, {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      cpu,
      connections: cp.hub.connectionCount,
      streamsInFlight: cp.hub.streamsInFlight,
      bufferedBytes: buffered,
    });
    return;
  }
  if (path === '/bench/gc') {
    req.resume();
    globalThis.gc?.();
    globalThis.gc?.();
    json(res, { gc: typeof globalThis.gc === 'function' });
    return;
  }
  if (path === '/bench/tracked') {
    req.resume();
    json(res, {
      streams: tracked.streams,
      open: tracked.open.size,
      maxBuffered: tracked.maxBuffered,
      lastBuffered: tracked.lastBuffered,
      window: cp.options.streamWindowBytes,
    });
    return;
  }
  forwardHandler(req, res);
});
front.keepAliveTimeout = 30_000;
front.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({
      msg: 'ready',
      url: cp.url,
      frontUrl: `http://127.0.0.1:${front.address().port}`,
      clientId: cred.clientId,
      clientSecret: cred.clientSecret,
      window: cp.options.streamWindowBytes,
    })}\n`,
  );
});

let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  front.closeAllConnections();
  front.close();
  const done = () => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  setTimeout(done, 2000).unref();
  cp.close().then(done, done);
});
