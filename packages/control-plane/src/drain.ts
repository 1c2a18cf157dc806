/**
 * Stopping on SIGTERM/SIGINT: one flag every part can read, and listeners for the parts that hold
 * something open (event streams end with a final `server.shuttingDown` event so clients re-attach).
 */
export interface DrainSignal {
  readonly draining: boolean;
  /** Called once when the drain starts (at once if it already has); returns an unsubscribe. */
  onDrain(listener: () => void): () => void;
}

export function createDrainSignal(): DrainSignal & { start(): void } {
  let draining = false;
  const listeners = new Set<() => void>();
  return {
    get draining() {
      return draining;
    },
    onDrain(listener) {
      if (draining) {
        listener();
        return () => undefined;
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      if (draining) return;
      draining = true;
      for (const l of [...listeners]) l();
      listeners.clear();
    },
  };
}
