// The chaos run's webhook receiver: it lives inside the run's network namespace (only the agents
// reach it), answers every call 202 at once, and calls back after a random delay, as CI jobs
// and test runners do. It decides each gate's outcome once per `webhook-id` (a share of them
// `success: false` on purpose) and keeps to it: a repeated call with the same `webhook-id` (a
// retry whose first outcome was unknown) gets the same outcome, called back to the new URI too.
// Callbacks are retried while the control plane cannot take them (connection refused, 5xx), the
// way a patient external system would, for up to two minutes.
//
//   node receiver.mjs <host> <failShare> <minDelayMs> <maxDelayMs>
//
// One JSON line per event on stdout:
//   {"t":"listening","port":N}
//   {"t":"call","id":webhookId,"deploymentId","environment","gate","n":k,"success":bool}
//   {"t":"callback","id","status":N,"ms":fromFirstTry,"tries":k}   (a final answer: 2xx or 4xx)
//   {"t":"callback-gave-up","id","error","tries":k}
import { createServer } from 'node:http';

const [host = '127.0.0.1', failShareArg = '0.06', minArg = '20', maxArg = '1500'] = process.argv.slice(2);
const failShare = Number(failShareArg);
const minDelay = Number(minArg);
const maxDelay = Number(maxArg);
const GIVE_UP_MS = 120_000;
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** webhook-id → { success, calls } */
const decided = new Map();

async function callBack(id, uri, outcome) {
  const first = Date.now();
  let tries = 0;
  let wait = 200;
  let lastError = '';
  while (Date.now() - first < GIVE_UP_MS) {
    tries++;
    try {
      const res = await fetch(uri, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(outcome),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (res.status < 500 && res.status !== 429) {
        out({
          t: 'callback',
          id,
          status: res.status,
          ms: Date.now() - first,
          tries,
          body: text.slice(0, 300),
        });
        return;
      }
      lastError = `HTTP ${res.status}: ${text.slice(0, 200)}`;
    } catch (err) {
      lastError = String(err?.cause?.code ?? err?.message ?? err);
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(2_000, wait * 2);
  }
  out({ t: 'callback-gave-up', id, error: lastError, tries });
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {}
    const id = String(req.headers['webhook-id'] ?? '');
    let d = decided.get(id);
    if (!d) {
      d = { success: Math.random() >= failShare, calls: 0 };
      decided.set(id, d);
    }
    d.calls++;
    out({
      t: 'call',
      id,
      deploymentId: body.deploymentId,
      environment: body.environment,
      gate: body.gate,
      n: d.calls,
      success: d.success,
    });
    res.writeHead(202).end();
    if (typeof body.callbackUri !== 'string') return;
    const outcome = d.success
      ? { success: true, mdMessage: `${body.gate}: passed` }
      : { success: false, mdMessage: `${body.gate}: **failed on purpose** (chaos receiver)` };
    const delay = minDelay + Math.floor(Math.random() * (maxDelay - minDelay));
    setTimeout(() => void callBack(id, body.callbackUri, outcome), delay);
  });
});
server.listen(0, host, () => out({ t: 'listening', port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
