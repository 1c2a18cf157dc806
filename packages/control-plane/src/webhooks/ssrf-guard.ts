import { isIP } from 'node:net';
import {
  type Cidr,
  cidrContains,
  formatV4,
  guardConnector,
  type IpAddress,
  type LookupAll,
  parseCidr,
  parseIp,
} from '@borealis/protocol/net-guard';
import { buildConnector } from 'undici';
import { BorealisError } from '../errors.js';

/**
 * The SSRF guard of `direct` webhooks. A deploy file is written by people who may not be allowed
 * to reach the control plane's own network, so a direct call may only go to public addresses
 * unless the operator allows more with BOREALIS_DIRECT_ALLOW. The check runs on the address the
 * socket actually connects to, inside the connector, so a name that resolves to a public address
 * when validated and to 127.0.0.1 when connected (DNS rebinding) cannot slip through.
 */

export type { LookupAll } from '@borealis/protocol/net-guard';

interface Rule {
  name: string;
  cidrs: Cidr[];
}

function rule(name: string, ...cidrs: string[]): Rule {
  return { name, cidrs: cidrs.map((c) => parseCidr(c) as Cidr) };
}

/** Most specific first: 169.254.169.254 is named "cloud metadata", not "link-local". */
export const DENY_RULES: readonly Rule[] = [
  rule('cloud metadata', '169.254.169.254/32', 'fd00:ec2::254/128', '100.100.100.200/32'),
  rule('unspecified', '0.0.0.0/8', '::/128'),
  rule('loopback', '127.0.0.0/8', '::1/128'),
  rule('private (RFC 1918)', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'),
  rule('carrier-grade NAT (RFC 6598)', '100.64.0.0/10'),
  rule('link-local', '169.254.0.0/16', 'fe80::/10'),
  rule('unique-local (fc00::/7)', 'fc00::/7'),
  rule('multicast or reserved', '224.0.0.0/3', 'ff00::/8'),
];

/** IPv6 prefixes that carry an IPv4 address a gateway will connect to: judged by that address. */
const EMBEDDING: ReadonlyArray<{ cidr: Cidr; extract: (v: bigint) => bigint; name: string }> = [
  { cidr: parseCidr('64:ff9b::/96') as Cidr, extract: (v) => v & 0xffffffffn, name: 'NAT64' },
  { cidr: parseCidr('2002::/16') as Cidr, extract: (v) => (v >> 80n) & 0xffffffffn, name: '6to4' },
];

export interface Refusal {
  rule: string;
  cidr: string;
  address: string;
}

export interface SsrfGuard {
  /** Undefined when `address` may be connected to; otherwise the rule that refuses it. */
  check(address: string): Refusal | undefined;
  /** The error a refusal turns into: names the rule and says how to allow the address. */
  refusalError(host: string, refusal: Refusal): BorealisError;
}

export function createSsrfGuard(allow: readonly string[]): SsrfGuard {
  const allowed = allow.map((entry) => {
    const cidr = parseCidr(entry);
    if (!cidr)
      throw new BorealisError(
        'BRL_ERR_CONFIG',
        `BOREALIS_DIRECT_ALLOW entry "${entry}" is not an address or CIDR`,
      );
    return cidr;
  });
  const isAllowed = (ip: IpAddress) => allowed.some((c) => cidrContains(c, ip));
  const judge = (ip: IpAddress, shown: string): Refusal | undefined => {
    if (isAllowed(ip)) return undefined;
    for (const r of DENY_RULES) {
      const hit = r.cidrs.find((c) => cidrContains(c, ip));
      if (hit) return { rule: r.name, cidr: hit.text, address: shown };
    }
    if (ip.family === 6) {
      for (const e of EMBEDDING) {
        if (!cidrContains(e.cidr, ip)) continue;
        const inner = formatV4(e.extract(ip.value));
        const refusal = judge({ family: 4, value: e.extract(ip.value) }, inner);
        if (refusal) return { ...refusal, rule: `${refusal.rule}, through ${e.name}`, address: shown };
      }
    }
    return undefined;
  };
  return {
    check(address) {
      const ip = parseIp(address);
      // Not an address at all: nothing to connect to, refuse rather than guess.
      if (!ip) return { rule: 'not an IP address', cidr: '-', address };
      return judge(ip, address);
    },
    refusalError(host, refusal) {
      const allowEntry =
        refusal.cidr === '-'
          ? refusal.address
          : `${bareAddress(refusal.address)}/${isIP(bareAddress(refusal.address)) === 6 ? 128 : 32}`;
      const via = host === refusal.address ? refusal.address : `${host} (${refusal.address})`;
      return new BorealisError(
        'BRL_ERR_WEBHOOK_SSRF_REFUSED',
        `Refused to call ${via}: ${refusal.address} is a ${refusal.rule} address (${refusal.cidr}), which direct webhooks may not reach. ` +
          `If this endpoint is meant to be called, allow it on the control plane with BOREALIS_DIRECT_ALLOW=${allowEntry} ` +
          '(addresses or CIDRs, comma-separated), or reach it through an agent with networkMode: remoteNetworkAgent',
        {
          details: { rule: refusal.rule, cidr: refusal.cidr, address: refusal.address, host },
          retryable: false,
        },
      );
    },
  };
}

function bareAddress(address: string): string {
  return address.startsWith('[') ? address.slice(1, -1) : address;
}

/**
 * An undici connector that checks every address the host resolves to with `guard` and connects
 * to the exact address it checked (the shared `guardConnector`): there is no second lookup to race.
 */
export function guardedConnector(
  guard: SsrfGuard,
  options: { lookup?: LookupAll; connectTimeoutMs?: number } = {},
): buildConnector.connector {
  return guardConnector(
    buildConnector({ timeout: options.connectTimeoutMs ?? 10_000 }),
    (host, address) => {
      const refusal = guard.check(address);
      return refusal && guard.refusalError(host, refusal);
    },
    options.lookup ? { lookup: options.lookup } : {},
  );
}
