// Plain JavaScript with tcp-balancer.d.mts beside it: the e2e tests and `pnpm chaos` balance
// with this one file.
import { connect, createServer } from 'node:net';

/**
 * A few lines of `net` piping, round-robin over `backends` (`host:port`): a backend that refuses
 * is skipped, as a load balancer's health check would. "One URL" for agents, callbacks and calls.
 * @param {string[]} backends
 * @param {string} [host] where it listens
 * @returns {Promise<import('./tcp-balancer.d.mts').TcpBalancer>}
 */
export async function startTcpBalancer(backends, host = '127.0.0.1') {
  let list = [...backends];
  let next = 0;
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  /** @param {import('node:net').Socket} s */
  const track = (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server = createServer((client) => {
    track(client);
    client.pause();
    client.on('error', () => client.destroy());
    /** @param {number} attempt */
    const tryFrom = (attempt) => {
      if (attempt >= list.length) {
        client.destroy();
        return;
      }
      const [h, p] = (list[next++ % list.length] ?? '').split(':');
      const upstream = connect(Number(p), h);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        track(upstream);
        client.pipe(upstream).pipe(client);
        client.resume();
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
      });
      upstream.on('error', () => {
        if (connected) client.destroy();
        else tryFrom(attempt + 1);
      });
    };
    tryFrom(0);
  });
  await new Promise((r) => server.listen(0, host, () => r(undefined)));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host}:${port}`,
    setBackends(b) {
      list = [...b];
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r(undefined)));
    },
  };
}
