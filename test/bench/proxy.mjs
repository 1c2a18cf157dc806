// The plain reverse-proxy hop the tunnel is compared with: node:http in, undici out, streaming
// both ways. Its own process; argv[2] is the target's base URL. Prints {"msg":"listening","port"}.
import { createServer } from 'node:http';
import { Agent } from 'undici';
import { forwardedHeaders, hasBody, makeHandler } from './http-front.mjs';

const target = process.argv[2];
// The same dispatcher the agent uses towards destinations (an undici Agent with its defaults).
const dispatcher = new Agent();

const server = createServer(
  makeHandler(async (req, signal) => {
    const headers = forwardedHeaders(req.rawHeaders).flat();
    const res = await dispatcher.request({
      origin: target,
      path: req.url,
      method: req.method,
      headers,
      body: hasBody(req) ? req : null,
      signal,
    });
    const pairs = [];
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
      else if (value !== undefined) pairs.push([name, value]);
    }
    return { status: res.statusCode, headers: pairs, body: res.body };
  }),
);
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: server.address().port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
