import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpBalancer {
  url: string;
  /** Where new connections go (round-robin), as `host:port`; dead ones are skipped. */
  setBackends(backends: string[]): void;
  close(): Promise<void>;
}

/** A few lines of `net` piping, round-robin over live backends: "one URL" for agents in tests. */
export async function startTcpBalancer(backends: string[]): Promise<TcpBalancer> {
  let list = [...backends];
  let next = 0;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server: Server = createServer((client) => {
    track(client);
    client.pause();
    const tryFrom = (attempt: number) => {
      if (attempt >= list.length) {
        client.destroy();
        return;
      }
      const target = list[next++ % list.length] ?? '';
      const [host, port] = target.split(':');
      const upstream = connect(Number(port), host);
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
    client.on('error', () => client.destroy());
    tryFrom(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    setBackends(b) {
      list = [...b];
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
