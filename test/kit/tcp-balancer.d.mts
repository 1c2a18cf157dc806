export interface TcpBalancer {
  url: string;
  /** Where new connections go (round-robin), as `host:port`; dead ones are skipped. */
  setBackends(backends: string[]): void;
  close(): Promise<void>;
}

/** Round-robin TCP balancer over `backends` (`host:port`), listening on `host` (default 127.0.0.1). */
export function startTcpBalancer(backends: string[], host?: string): Promise<TcpBalancer>;
