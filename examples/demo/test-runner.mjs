// The demo's "private" test runner: accepts a test request (answers 202 at once), "runs" for a
// moment, then POSTs {"success": true} to the callback URI it was given in the Location header.
// It checks the bearer token it was sent, so the demo shows a secret reaching its destination.
import { createServer } from 'node:http';

const expectedToken = process.env.DEMO_TEST_TOKEN ?? '';
const server = createServer((req, res) => {
  const callback = req.headers.location;
  const authorized = req.headers.authorization === `Bearer ${expectedToken}`;
  req.resume();
  req.on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ accepted: true }));
    if (!callback) return;
    setTimeout(() => {
      const body = authorized
        ? {
            success: true,
            mdMessage: `**${req.headers.environment ?? 'tests'}**: 42 integration tests passed`,
          }
        : { success: false, mdMessage: 'the test runner did not get the expected bearer token' };
      fetch(callback, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).catch((err) => process.stderr.write(`test runner: callback failed: ${err.message}\n`));
    }, 1500);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
