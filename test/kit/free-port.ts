import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago. Racy by nature (another process may take it before you
 * bind): use port 0 wherever you can, and this only where a server must restart on the same port.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
