// A webhook receiver like the product page's second example, run as its own process (inside a
// network namespace, reachable only through the agent). It answers every call 204 at once, then
// POSTs the outcome to the callback URI it got in the `Location` header (or in the JSON body's
// client_payload.callbackUri), a moment later — the asynchronous webhook-with-callback pattern.
//   POST /tests/...      -> callback {"success": true}
//   POST /fail/...       -> callback {"success": false, "mdMessage": "..."}
// Prints {"msg":"listening","port":N}, and one {"msg":"called", ...} and one
// {"msg":"callback answered","status":N} line per call.
import { createServer } from 'node:http';

const host = process.argv[2] ?? '127.0.0.1';
const delayMs = Number(process.argv[3] ?? '200');
const log = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    let target = req.headers.location;
    if (!target) {
      try {
        target = JSON.parse(body).client_payload?.callbackUri;
      } catch {}
    }
    log({
      msg: 'called',
      path: req.url,
      webhookId: req.headers['webhook-id'],
      authorization: req.headers.authorization,
      environment: req.headers.environment,
      hasCallbackUri: Boolean(target),
    });
    res.writeHead(204);
    res.end();
    if (!target) return;
    const outcome = req.url.startsWith('/fail')
      ? { success: false, mdMessage: '**2 of 40** integration tests failed' }
      : { success: true };
    setTimeout(() => {
      fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(outcome),
      })
        .then(async (r) => log({ msg: 'callback answered', status: r.status, body: await r.text() }))
        .catch((err) => log({ msg: 'callback failed', error: String(err) }));
    }, delayMs);
  });
});
server.listen(0, host, () => log({ msg: 'listening', port: server.address().port, host }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
