export interface CuttableProxy {
  /** Where it listens, on 127.0.0.1. */
  port: number;
  /** A lost link for `ms`: open connections torn down, new ones closed at once until then. */
  cut(ms: number): void;
  close(): Promise<void>;
}

/** A TCP proxy in front of `targetHost:targetPort` (a database) that a test can cut. */
export function startCuttableProxy(targetHost: string, targetPort: number): Promise<CuttableProxy>;
