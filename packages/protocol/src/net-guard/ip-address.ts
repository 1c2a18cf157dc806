import { isIP } from 'node:net';

/*
 * IP addresses and CIDRs as numbers. Shared by the agent's allow-list and the control plane's
 * SSRF guard, which must agree on what an address is (IPv4-mapped IPv6 above all); it lives in
 * the protocol package because that is the one package both ends depend on. No sockets.
 */

/** An IP address as a number, so CIDR membership is a mask and a compare. */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  prefix: number;
  text: string;
}

/**
 * Parses an IPv4 or IPv6 address (brackets and zone ids stripped). IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`, `::ffff:a00:1`) come back as IPv4: the kernel connects them to the IPv4
 * host, so they must meet the IPv4 rules.
 */
export function parseIp(text: string): IpAddress | undefined {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  const family = isIP(s);
  if (family === 4) return { family: 4, value: parseV4(s) };
  if (family !== 6) return undefined;
  const value = parseV6(s);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** `10.0.0.0/8`, `fc00::/7`, or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const [addr = '', bits, ...rest] = text.trim().split('/');
  if (rest.length > 0) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  // A mapped address written as IPv6 with an IPv6 prefix: keep the prefix meaningful for IPv4.
  const mappedShift = isIP(addr) === 6 && ip.family === 4 ? 96 : 0;
  const full = ip.family === 4 ? 32 : 128;
  const prefix = bits === undefined ? full : Number(bits) - mappedShift;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > full) return undefined;
  return { family: ip.family, base: ip.value & maskOf(ip.family, prefix), prefix, text: text.trim() };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return cidr.family === ip.family && (ip.value & maskOf(ip.family, cidr.prefix)) === cidr.base;
}

/** Dotted form of an IPv4 address (for messages about addresses embedded in IPv6 ones). */
export function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

export function bitsOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

export function maskOf(family: 4 | 6, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  return ((1n << BigInt(prefix)) - 1n) << (bits - BigInt(prefix));
}

function parseV4(s: string): bigint {
  return s.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function parseV6(s: string): bigint {
  let text = s.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}
