import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';

/** `dns.lookup` with `{all: true}`; injectable so tests can play a rebinding DNS server. */
export type LookupAll = (
  hostname: string,
  callback: (err: Error | null, addresses: LookupAddress[]) => void,
) => void;

export const systemLookup: LookupAll = (hostname, callback) =>
  dnsLookup(hostname, { all: true }, (err, addresses) => callback(err, addresses ?? []));

/**
 * Judges one resolved address of `host`: undefined when it may be connected to, otherwise the
 * error the connection fails with (it should say which rule refused it and how to allow it).
 */
export type AddressCheck = (host: string, address: string, port: number) => Error | undefined;

/** The part of undici's connector options this needs. */
export interface ConnectTarget {
  hostname: string;
  port: string;
  protocol: string;
}

/** An undici-style connector (`buildConnector.connector`), over any socket type. */
export type Connector<O extends ConnectTarget, S> = (
  options: O,
  callback: (...args: [null, S] | [Error, null]) => void,
) => void;

export interface GuardOptions {
  lookup?: LookupAll;
  /** The error when the name resolves to no address at all; default: ENOTFOUND. */
  noAddress?: (host: string, port: number) => Error;
}

/**
 * Wraps a connector (undici's `buildConnector(...)`) so that it resolves the host itself, checks
 * every candidate address, and connects to the exact address it checked. Resolving and
 * connecting in one place is what makes address rules safe against DNS rebinding: there is no
 * second lookup to race. TLS still verifies the certificate against the name in the URL (undici
 * takes the server name from `host`), not against the address connected to.
 */
export function guardConnector<O extends ConnectTarget, S>(
  base: Connector<O, S>,
  check: AddressCheck,
  options: GuardOptions = {},
): Connector<O, S> {
  const lookup = options.lookup ?? systemLookup;
  return (opts, callback) => {
    const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    const resolve = (cb: (err: Error | null, addresses: LookupAddress[]) => void) => {
      const family = isIP(host);
      if (family !== 0) cb(null, [{ address: host, family }]);
      else lookup(host, cb);
    };
    resolve((err, addresses) => {
      if (err) {
        callback(err, null);
        return;
      }
      let firstRefusal: Error | undefined;
      const chosen = addresses.find((a) => {
        const refusal = check(host, a.address, port);
        firstRefusal ??= refusal;
        return refusal === undefined;
      });
      if (!chosen) {
        callback(
          firstRefusal ??
            options.noAddress?.(host, port) ??
            Object.assign(new Error(`${host} resolved to no address`), { code: 'ENOTFOUND' }),
          null,
        );
        return;
      }
      base({ ...opts, hostname: chosen.address }, callback);
    });
  };
}
