// Many idle agent connections from one process: each a WebSocket with a responder `Tunnel` from
// packages/protocol/dist, authenticated like the real agent (Basic credentials, identifier,
// instance id, version, subprotocol). The Tunnel answers the control plane's pings and pings back,
// so the control plane sees live agents. Real agent processes (about 60 MiB each) would not fit
// thousands to a 2-core machine.
//
// argv: <control-plane URL> <count> <identifier prefix>; env BENCH_CLIENT_ID, BENCH_CLIENT_SECRET,
// BENCH_SWARM_INFLIGHT (handshakes in flight, default 128).
// Prints {"msg":"ready","connected":N} once every connection has its WELCOME.
import {
  AGENT_CONNECT_PATH,
  AgentFeatures,
  AgentHeaders,
  offeredSubprotocols,
  subprotocolVersion,
  Tunnel,
} from '@borealis/protocol';
import WebSocket from 'ws';

const [base, countText, prefix = 'swarm'] = process.argv.slice(2);
const count = Number(countText);
const authorization = `Basic ${Buffer.from(`${process.env.BENCH_CLIENT_ID}:${process.env.BENCH_CLIENT_SECRET}`).toString('base64')}`;
const url = base.replace(/^http/, 'ws') + AGENT_CONNECT_PATH;
const sockets = [];
let welcomed = 0;
let failed = 0;
/** Connections that closed after their WELCOME, by who judged and the close code. */
const dropped = {};

function connect(i) {
  return new Promise((resolve) => {
    // The protocols the real agent offers (v1 and v2); the control plane picks v2.
    const ws = new WebSocket(url, offeredSubprotocols(), {
      headers: {
        authorization,
        [AgentHeaders.identifier]: `${prefix}-${i}`,
        [AgentHeaders.instanceId]: `${prefix}-instance-${i}`,
        [AgentHeaders.version]: '0.0.0-bench',
        // As the agent announces them (BENCH_SWARM_FEATURES overrides, e.g. '' for an older agent).
        [AgentHeaders.features]: process.env.BENCH_SWARM_FEATURES ?? AgentFeatures.logUrl,
      },
      perMessageDeflate: false,
    });
    sockets.push(ws);
    let tunnel;
    ws.on('message', (data) => {
      if (!tunnel) {
        tunnel = new Tunnel({
          role: 'responder',
          version: subprotocolVersion(ws.protocol),
          sink: { send: (b, done) => ws.send(b, { binary: true }, done), close: (c, r) => ws.close(c, r) },
          onWelcome: () => {
            welcomed++;
            resolve(true);
          },
          onClose: (info) => {
            if (info.error) tunnel.judgedHere = info.error.code;
          },
        });
      }
      tunnel.receive(data);
    });
    ws.on('error', () => {});
    ws.on('close', (c, r) => {
      tunnel?.transportClosed(c, r.toString());
      if (tunnel) {
        const key = tunnel.judgedHere ? `here ${tunnel.judgedHere}` : `control plane ${c}`;
        dropped[key] = (dropped[key] ?? 0) + 1;
      }
      resolve(false);
    });
  });
}

// A bounded number of handshakes in flight, so the listen backlog (511) is never the bottleneck,
// even with several swarms connecting at once.
const inflight = Number(process.env.BENCH_SWARM_INFLIGHT ?? 128);
let next = 0;
async function worker() {
  while (next < count) {
    const i = next++;
    if (!(await connect(i))) failed++;
  }
}
const started = Date.now();
await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
process.stdout.write(
  `${JSON.stringify({ msg: 'ready', connected: welcomed, failed, ms: Date.now() - started })}\n`,
);

// Connections lost after WELCOME (none, on a healthy run), every 5 s while any are.
let reported = '{}';
setInterval(() => {
  const now = JSON.stringify(dropped);
  if (now === reported) return;
  reported = now;
  process.stdout.write(`${JSON.stringify({ msg: 'dropped', dropped })}\n`);
}, 5000).unref();

process.on('SIGTERM', () => {
  for (const ws of sockets) ws.terminate();
  process.exit(0);
});
