// Plain JavaScript with free-port.d.mts beside it, so the chaos script (node, no build) and the
// TypeScript tests import the same file.
import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago. Racy by nature (another process may take it before you
 * bind): use port 0 wherever you can, and this only where a server must restart on the same port.
 * @param {string} [host]
 * @returns {Promise<number>}
 */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
