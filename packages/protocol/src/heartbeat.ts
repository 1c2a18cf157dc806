/**
 * Heartbeat defaults for both ends. Each side pings every interval and drops a peer it has heard
 * nothing from for `missedIntervals` of them; the check runs on the ping timer, so a peer that
 * freezes (SIGSTOP, a dead host: no FIN) is noticed at the latest `detectionBoundMs` later.
 * The defaults keep that within 10 s.
 */
export const HeartbeatDefaults = {
  intervalMs: 2_000,
  missedIntervals: 3,
} as const;

/** Silence after which a peer is dead, for a heartbeat interval. */
export function heartbeatTimeoutMs(intervalMs: number): number {
  return intervalMs * HeartbeatDefaults.missedIntervals;
}

/** The longest a frozen peer goes unnoticed: the timeout, plus up to one interval to the next check. */
export function heartbeatDetectionBoundMs(
  intervalMs: number,
  timeoutMs = heartbeatTimeoutMs(intervalMs),
): number {
  return timeoutMs + intervalMs;
}
