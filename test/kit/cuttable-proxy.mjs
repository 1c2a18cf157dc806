// Plain JavaScript with cuttable-proxy.d.mts beside it: `pnpm chaos` and the store-outage test
// cut their database link with this one file.
import { connect, createServer } from 'node:net';

/**
 * A TCP proxy in front of a database (PostgreSQL). `cut(ms)` is a lost database link: every open connection
 * is torn down and new ones are refused (closed at once) until the time is up.
 * @param {string} targetHost
 * @param {number} targetPort
 * @returns {Promise<import('./cuttable-proxy.d.mts').CuttableProxy>}
 */
export async function startCuttableProxy(targetHost, targetPort) {
  let downUntil = 0;
  const pairs = new Set();
  const server = createServer((client) => {
    client.on('error', () => client.destroy());
    if (Date.now() < downUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    upstream.on('error', () => client.destroy());
    client.once('close', () => {
      upstream.destroy();
      pairs.delete(pair);
    });
    upstream.once('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    cut(ms) {
      downUntil = Date.now() + ms;
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((r) => server.close(() => r()));
    },
  };
}
