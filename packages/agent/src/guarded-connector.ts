import { guardConnector, type LookupAll } from '@borealis/protocol/net-guard';
import type { buildConnector as BuildConnector } from 'undici';
import type { AllowList } from './allow-list.js';
import { buildConnector } from './undici.js';

export type { LookupAll } from '@borealis/protocol/net-guard';

/** The connect-time refusal; the executor turns it into a BRL_STREAM_DESTINATION_REFUSED reset. */
export class DestinationRefusedError extends Error {
  readonly code = 'BRL_AGENT_DESTINATION_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefusedError';
  }
}

/**
 * An undici connector that checks every address the destination resolves to against the
 * allow-list and connects to the exact address it checked (the shared `guardConnector`, so DNS
 * rebinding cannot slip past the address rules).
 */
export function guardedConnector(
  allow: AllowList,
  options: { lookup?: LookupAll; connectTimeoutMs?: number } = {},
): BuildConnector.connector {
  const refused = (host: string, port: number, address: string | undefined) =>
    new DestinationRefusedError(allow.refusal(host, port, address));
  return guardConnector(
    buildConnector({ timeout: options.connectTimeoutMs ?? 10_000 }),
    (host, address, port) =>
      allow.checkAddress(host, address, port) ? undefined : refused(host, port, address),
    {
      ...(options.lookup ? { lookup: options.lookup } : {}),
      noAddress: (host, port) => refused(host, port, undefined),
    },
  );
}
