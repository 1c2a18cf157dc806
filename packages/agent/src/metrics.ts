/**
 * The agent's metrics in Prometheus text format. A handful of counters and gauges do not need a
 * client library; keeping them as plain fields also lets `status()` and tests read them directly.
 */
export const Outcome = {
  ok: 'ok',
  refused: 'refused',
  connectFailed: 'connect_failed',
  timeout: 'timeout',
  upstreamError: 'upstream_error',
  cancelled: 'cancelled',
  badRequest: 'bad_request',
  disconnected: 'disconnected',
} as const;
export type OutcomeName = (typeof Outcome)[keyof typeof Outcome];

const PREFIX = 'borealis_agent_';

export class AgentMetrics {
  connected = 0;
  reconnectsTotal = 0;
  streamsInFlight = 0;
  readonly requestsTotal = new Map<OutcomeName, number>(Object.values(Outcome).map((o) => [o, 0]));
  bytesSentTotal = 0;
  bytesReceivedTotal = 0;
  refusedDestinationsTotal = 0;
  /** Last measured round trip of a tunnel ping; NaN before the first. */
  heartbeatRttSeconds = Number.NaN;

  countRequest(outcome: OutcomeName): void {
    this.requestsTotal.set(outcome, (this.requestsTotal.get(outcome) ?? 0) + 1);
    if (outcome === Outcome.refused) this.refusedDestinationsTotal++;
  }

  render(): string {
    const lines: string[] = [];
    const metric = (
      name: string,
      type: 'gauge' | 'counter',
      help: string,
      samples: Array<[string, number]>,
    ) => {
      lines.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${PREFIX}${name}${labels} ${formatValue(value)}`);
    };
    /** A metric with one unlabelled sample. */
    const single = (name: string, type: 'gauge' | 'counter', help: string, value: number) =>
      metric(name, type, help, [['', value]]);
    single(
      'connected',
      'gauge',
      '1 while the tunnel to the control plane is up (after WELCOME).',
      this.connected,
    );
    single(
      'reconnects_total',
      'counter',
      'Reconnect attempts after a failed or lost connection.',
      this.reconnectsTotal,
    );
    single(
      'streams_in_flight',
      'gauge',
      'Requests being performed for the control plane.',
      this.streamsInFlight,
    );
    metric(
      'requests_total',
      'counter',
      'Requests performed for the control plane, by outcome.',
      [...this.requestsTotal].map(([outcome, n]) => [`{outcome="${outcome}"}`, n]),
    );
    single(
      'bytes_sent_total',
      'counter',
      'Bytes sent to the control plane over the tunnel.',
      this.bytesSentTotal,
    );
    single(
      'bytes_received_total',
      'counter',
      'Bytes received from the control plane over the tunnel.',
      this.bytesReceivedTotal,
    );
    single(
      'refused_destinations_total',
      'counter',
      'Requests refused by the allow-list.',
      this.refusedDestinationsTotal,
    );
    single(
      'heartbeat_rtt_seconds',
      'gauge',
      'Round trip of the last tunnel heartbeat.',
      this.heartbeatRttSeconds,
    );
    return `${lines.join('\n')}\n`;
  }
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  return String(n);
}
