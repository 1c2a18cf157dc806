import { type IpAddress, maskOf, parseIp, sameAddress } from '@borealis/protocol/net-guard';

/**
 * The agent's destination allow-list (`BOREALIS_ALLOW`). Whoever controls the control plane can
 * make the agent call anything it can reach, so the list is the boundary between "the webhooks
 * we meant" and "a pivot into the private network".
 *
 * Patterns, comma-separated (a pattern without a port allows every port):
 *   `*`                 any host, any port (cloud metadata addresses excepted, see below)
 *   `*:443`             any host, port 443
 *   `api.internal`      that host name (`api.internal:8443` for one port)
 *   `*.corp.example`    every subdomain of corp.example (not corp.example itself)
 *   `10.1.2.3`, `fd00::1`, `[fd00::1]:443`            one address
 *   `10.0.0.0/8`, `10.0.0.0/8:443`, `fd00::/8`, `[fd00::/8]:443`   a CIDR range
 *
 * Host-name patterns match the name in the URL. Address and CIDR patterns match the address the
 * agent actually connects to, checked after DNS resolution at connect time, so a name that
 * resolves somewhere else (DNS rebinding) cannot slip through a CIDR rule. Cloud metadata
 * endpoints are refused unless one of them is listed as an exact address, even under `*`.
 */
export type AllowRule =
  | { kind: 'any'; port: number | null; source: string }
  | { kind: 'host'; host: string; port: number | null; source: string }
  | { kind: 'suffix'; suffix: string; port: number | null; source: string }
  | {
      kind: 'address';
      address: IpAddress;
      prefix: number;
      exact: boolean;
      port: number | null;
      source: string;
    };

/** Addresses of cloud metadata services: credentials live there. */
const METADATA_ADDRESSES = ['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200'].map(
  (a) => parseIp(a)!,
);

export function isMetadataAddress(address: string): boolean {
  const ip = parseIp(address);
  return ip !== undefined && METADATA_ADDRESSES.some((m) => sameAddress(m, ip));
}

export class AllowListPatternError extends Error {
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`"${pattern}": ${reason}`);
    this.name = 'AllowListPatternError';
  }
}

/** The answer of the check made before anything is sent. */
export type DestinationDecision = { allowed: true; byName: boolean } | { allowed: false; reason: string };

export class AllowList {
  private constructor(readonly rules: readonly AllowRule[]) {}

  /** Parses `BOREALIS_ALLOW`; throws AllowListPatternError naming the first bad pattern. */
  static parse(input: string | readonly string[] | undefined): AllowList {
    const parts = input === undefined ? [] : typeof input === 'string' ? input.split(',') : input;
    const rules: AllowRule[] = [];
    for (const raw of parts) {
      const source = raw.trim();
      if (source === '') continue;
      rules.push(parseRule(source));
    }
    return new AllowList(rules);
  }

  get isEmpty(): boolean {
    return this.rules.length === 0;
  }

  /** The rules as written, for logs and refusal messages. */
  describe(): string {
    return this.isEmpty ? 'empty: every destination is refused' : this.rules.map((r) => r.source).join(',');
  }

  /**
   * Before anything is sent: may the agent try `host:port`? A host allowed only by address rules
   * is `byName: false`, and its resolved address is checked again at connect time.
   */
  checkDestination(host: string, port: number): DestinationDecision {
    const bare = stripBrackets(host).toLowerCase();
    const ip = parseIp(bare);
    if (ip) {
      return this.checkAddress(bare, bare, port)
        ? { allowed: true, byName: true }
        : { allowed: false, reason: this.refusal(bare, port) };
    }
    if (this.nameAllowed(bare, port)) return { allowed: true, byName: true };
    if (this.rules.some((r) => r.kind === 'address' && portMatches(r.port, port))) {
      return { allowed: true, byName: false };
    }
    return { allowed: false, reason: this.refusal(bare, port) };
  }

  /** At connect time: may the agent connect to `address` (what `host` resolved to) on `port`? */
  checkAddress(host: string, address: string, port: number): boolean {
    const ip = parseIp(address);
    if (!ip) return false;
    let addressRuleMatch = false;
    for (const r of this.rules) {
      if (r.kind !== 'address' || !portMatches(r.port, port) || !inRange(ip, r)) continue;
      if (r.exact) return true;
      addressRuleMatch = true;
    }
    if (METADATA_ADDRESSES.some((m) => sameAddress(m, ip))) return false;
    return addressRuleMatch || this.nameAllowed(stripBrackets(host).toLowerCase(), port);
  }

  /** The refusal text sent back to the control plane: what was refused and how to allow it. */
  refusal(host: string, port: number, resolved?: string): string {
    const target = formatHostPort(stripBrackets(host), port);
    const via = resolved && resolved !== stripBrackets(host) ? ` (resolved to ${resolved})` : '';
    const metadata = isMetadataAddress(resolved ?? host)
      ? '; cloud metadata addresses are refused unless listed as an exact address'
      : '';
    return `${target}${via} is not in BOREALIS_ALLOW (${this.describe()})${metadata}; add it, e.g. BOREALIS_ALLOW=${suggestion(this, stripBrackets(host), port, resolved)}`;
  }

  private nameAllowed(host: string, port: number): boolean {
    const name = host.endsWith('.') ? host.slice(0, -1) : host;
    return this.rules.some((r) => {
      if (!portMatches(r.port, port)) return false;
      if (r.kind === 'any') return true;
      if (r.kind === 'host') return r.host === name;
      if (r.kind === 'suffix') return name.endsWith(`.${r.suffix}`);
      return false;
    });
  }
}

function suggestion(list: AllowList, host: string, port: number, resolved?: string): string {
  const ip = parseIp(resolved ?? host);
  const added =
    ip && resolved
      ? ip.family === 6
        ? `[${resolved}]:${port}`
        : `${resolved}:${port}`
      : formatHostPort(host, port);
  return list.isEmpty ? added : `${list.describe()},${added}`;
}

function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function portMatches(rulePort: number | null, port: number): boolean {
  return rulePort === null || rulePort === port;
}

function inRange(ip: IpAddress, rule: Extract<AllowRule, { kind: 'address' }>): boolean {
  if (ip.family !== rule.address.family) return false;
  const mask = maskOf(ip.family, rule.prefix);
  return (ip.value & mask) === (rule.address.value & mask);
}

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

function parseRule(source: string): AllowRule {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new AllowListPatternError(source, 'a pattern is a host, not a URL; drop the scheme and path');
  }
  if (source.includes('/') && !/^\[?[0-9a-fA-F:.]+\/\d+\]?(:\d+)?$/.test(source)) {
    throw new AllowListPatternError(source, 'a pattern is a host, address or CIDR, without a path');
  }

  // [v6], [v6]:port, [v6/len], [v6/len]:port
  if (source.startsWith('[')) {
    const close = source.indexOf(']');
    if (close === -1) throw new AllowListPatternError(source, 'missing "]" after the IPv6 address');
    const rest = source.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) {
      throw new AllowListPatternError(source, 'expected ":<port>" after "]"');
    }
    const port = rest === '' ? null : parsePort(source, rest.slice(1));
    return addressRule(source, source.slice(1, close), port, 6);
  }

  let hostPart = source;
  let port: number | null = null;
  const colons = source.split(':').length - 1;
  if (colons === 1) {
    const at = source.lastIndexOf(':');
    hostPart = source.slice(0, at);
    port = parsePort(source, source.slice(at + 1));
  } else if (colons > 1) {
    // Bare IPv6 (with or without a prefix); a port needs brackets so it cannot be misread.
    return addressRule(source, source, null, 6);
  }

  if (hostPart === '*') return { kind: 'any', port, source };
  if (/^[0-9.]+(\/\d+)?$/.test(hostPart)) return addressRule(source, hostPart, port, 4);
  const lower = hostPart.toLowerCase();
  if (lower.startsWith('*.')) {
    const suffix = lower.slice(2);
    if (!HOST_NAME.test(suffix)) throw new AllowListPatternError(source, `"${suffix}" is not a valid domain`);
    return { kind: 'suffix', suffix, port, source };
  }
  if (lower.includes('*')) {
    throw new AllowListPatternError(
      source,
      'a wildcard is allowed only as "*" or a leading "*." (e.g. *.corp.example)',
    );
  }
  const host = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  if (!HOST_NAME.test(host))
    throw new AllowListPatternError(source, `"${hostPart}" is not a valid host name`);
  return { kind: 'host', host, port, source };
}

function addressRule(source: string, text: string, port: number | null, family: 4 | 6): AllowRule {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const address = parseIp(addressText);
  if (!address || (family === 4 && address.family !== 4) || (family === 6 && !addressText.includes(':'))) {
    throw new AllowListPatternError(source, `"${addressText}" is not a valid IPv${family} address`);
  }
  const bits = address.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    prefix = Number(prefixText);
    // An IPv4-mapped IPv6 range counts its prefix over 128 bits; it becomes IPv4 after parsing.
    if (family === 6 && address.family === 4) prefix -= 96;
    if (!/^\d+$/.test(prefixText) || prefix < 0 || prefix > bits) {
      throw new AllowListPatternError(source, `prefix length must be 0-${bits}`);
    }
  }
  const mask = maskOf(address.family, prefix);
  return {
    kind: 'address',
    address: { family: address.family, value: address.value & mask },
    prefix,
    exact: prefix === bits,
    port,
    source,
  };
}

function parsePort(source: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new AllowListPatternError(source, `port "${text}" must be a number from 1 to 65535`);
  }
  return port;
}
