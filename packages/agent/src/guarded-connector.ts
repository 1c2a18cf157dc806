import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import type { AllowList } from './allow-list.js';

/** `dns.lookup` with `{all: true}`; injectable so tests can play a rebinding DNS server. */
export type LookupAll = (
  hostname: string,
  callback: (err: Error | null, addresses: LookupAddress[]) => void,
) => void;

export const systemLookup: LookupAll = (hostname, callback) =>
  dnsLookup(hostname, { all: true }, (err, addresses) => callback(err, addresses ?? []));

/** The connect-time refusal; the executor turns it into a BRL_STREAM_DESTINATION_REFUSED reset. */
export class DestinationRefusedError extends Error {
  readonly code = 'BRL_AGENT_DESTINATION_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefusedError';
  }
}

/**
 * An undici connector that resolves the host itself, checks every candidate address against the
 * allow-list, and connects to the exact address it checked. Resolving and connecting in one place
 * is what makes address rules safe against DNS rebinding: there is no second lookup to race.
 */
export function guardedConnector(
  allow: AllowList,
  options: { lookup?: LookupAll; connectTimeoutMs?: number } = {},
): buildConnector.connector {
  const lookup = options.lookup ?? systemLookup;
  const base = buildConnector({ timeout: options.connectTimeoutMs ?? 10_000 });
  return (opts, callback) => {
    const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    const resolved = (cb: (err: Error | null, addresses: LookupAddress[]) => void) => {
      const family = isIP(host);
      if (family !== 0) cb(null, [{ address: host, family }]);
      else lookup(host, cb);
    };
    resolved((err, addresses) => {
      if (err) {
        callback(err, null);
        return;
      }
      const chosen = addresses.find((a) => allow.checkAddress(host, a.address, port));
      if (!chosen) {
        callback(new DestinationRefusedError(allow.refusal(host, port, addresses[0]?.address)), null);
        return;
      }
      // The TLS server name still comes from `opts.host`, so certificates are checked against the
      // name in the URL, not the address.
      base({ ...opts, hostname: chosen.address }, callback);
    });
  };
}
