// A small web server for end-to-end tests, run as its own process (inside a network namespace
// when the test wants it private). Prints one JSON line {"msg":"listening","port":N} when ready.
//   GET  /hello          -> 200 "hello from the private network", x-private: yes
//   POST /echo           -> 200 echoes the body; x-body-sha256 header with its checksum
//   GET  /bytes?n=N      -> N pseudo-random bytes (seeded), x-body-sha256 header
//   GET  /count          -> how many requests this server has seen
//   GET  /slow?ms=N      -> waits N ms, then 200 "slow"
//   GET  /drip?n=N&ms=M  -> N chunks of 1 KiB, one every M ms (a slow download to cancel mid-way)
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

const host = process.argv[2] ?? '127.0.0.1';
let seen = 0;
function bytes(n) {
  const out = Buffer.alloc(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/count') seen++;
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (url.pathname === '/hello') {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-private': 'yes' });
      res.end('hello from the private network');
    } else if (url.pathname === '/echo') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'x-body-sha256': createHash('sha256').update(body).digest('hex'),
      });
      res.end(body);
    } else if (url.pathname === '/bytes') {
      const out = bytes(Number(url.searchParams.get('n') ?? '0'));
      res.writeHead(200, { 'x-body-sha256': createHash('sha256').update(out).digest('hex') });
      res.end(out);
    } else if (url.pathname === '/slow') {
      setTimeout(
        () => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('slow');
        },
        Number(url.searchParams.get('ms') ?? '1000'),
      );
    } else if (url.pathname === '/drip') {
      const n = Number(url.searchParams.get('n') ?? '10');
      const ms = Number(url.searchParams.get('ms') ?? '10');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed || sent >= n) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(Buffer.alloc(1024, 0x61));
        sent++;
      }, ms);
      res.on('close', () => clearInterval(timer));
    } else if (url.pathname === '/count') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ seen }));
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
});
server.listen(0, host, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: server.address().port, host })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
