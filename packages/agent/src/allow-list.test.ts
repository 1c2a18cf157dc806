import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { AllowList, AllowListPatternError, isMetadataAddress } from './allow-list.js';
import { DestinationRefusedError, guardedConnector, type LookupAll } from './guarded-connector.js';

describe('allow-list patterns', () => {
  // [patterns, host, port, allowed before connect]
  const table: Array<[string, string, number, boolean]> = [
    ['', 'api.internal', 443, false],
    ['api.internal', 'api.internal', 443, true],
    ['api.internal', 'API.Internal.', 8080, true],
    ['api.internal', 'other.internal', 443, false],
    ['api.internal:443', 'api.internal', 443, true],
    ['api.internal:443', 'api.internal', 80, false],
    ['*.corp.example', 'a.corp.example', 80, true],
    ['*.corp.example', 'a.b.corp.example', 80, true],
    ['*.corp.example', 'corp.example', 80, false],
    ['*.corp.example', 'evilcorp.example', 80, false],
    ['*.corp.example:8443', 'a.corp.example', 8443, true],
    ['*.corp.example:8443', 'a.corp.example', 443, false],
    ['*', 'anything.example', 1, true],
    ['*', '10.1.2.3', 22, true],
    ['*:443', 'anything.example', 443, true],
    ['*:443', 'anything.example', 80, false],
    ['10.1.2.3', '10.1.2.3', 80, true],
    ['10.1.2.3', '10.1.2.4', 80, false],
    ['10.0.0.0/8', '10.200.1.1', 80, true],
    ['10.0.0.0/8', '11.0.0.1', 80, false],
    ['10.0.0.0/8:443', '10.0.0.1', 443, true],
    ['10.0.0.0/8:443', '10.0.0.1', 80, false],
    ['fd00::/8', '[fd12::1]', 80, true],
    ['fd00::/8', '[fe80::1]', 80, false],
    ['[fd00::/8]:443', '[fd12::1]', 443, true],
    ['[fd00::/8]:443', '[fd12::1]', 80, false],
    ['[fd00::1]:443', '[fd00::1]', 443, true],
    ['fd00::1', 'fd00::1', 9, true],
    // IPv4-mapped IPv6 reaches the IPv4 host, so IPv4 rules apply to it.
    ['10.0.0.0/8', '[::ffff:10.0.0.1]', 80, true],
    ['127.0.0.1', '[::ffff:7f00:1]', 80, true],
    // A hostname with only address rules passes the first check; its address is checked at connect.
    ['10.0.0.0/8', 'db.internal', 80, true],
    ['10.0.0.0/8:443', 'db.internal', 80, false],
    // Cloud metadata: never under "*" or a broad range, only as an exact address.
    ['*', '169.254.169.254', 80, false],
    ['169.254.0.0/16', '169.254.169.254', 80, false],
    ['0.0.0.0/0', '169.254.169.254', 80, false],
    ['*', '[fd00:ec2::254]', 80, false],
    ['*', '[::ffff:169.254.169.254]', 80, false],
    ['169.254.169.254', '169.254.169.254', 80, true],
    ['169.254.169.254:80', '169.254.169.254', 80, true],
    ['api.internal, 10.0.0.0/8:443 ,', '10.9.9.9', 443, true],
  ];
  it.each(table)('%j allows %s:%i → %s', (patterns, host, port, allowed) => {
    expect(AllowList.parse(patterns).checkDestination(host, port).allowed).toBe(allowed);
  });

  it('refusals name the destination, the rules and a fix', () => {
    const decision = AllowList.parse('api.internal:443').checkDestination('db.internal', 5432);
    expect(decision).toEqual({
      allowed: false,
      reason:
        'db.internal:5432 is not in BOREALIS_ALLOW (api.internal:443); add it, e.g. BOREALIS_ALLOW=api.internal:443,db.internal:5432',
    });
    const empty = AllowList.parse(undefined).checkDestination('db.internal', 80);
    expect(empty.allowed === false && empty.reason).toContain('empty: every destination is refused');
  });

  it('metadata addresses are recognised in every spelling', () => {
    expect(isMetadataAddress('169.254.169.254')).toBe(true);
    expect(isMetadataAddress('::ffff:169.254.169.254')).toBe(true);
    expect(isMetadataAddress('fd00:ec2:0::254')).toBe(true);
    expect(isMetadataAddress('169.254.169.253')).toBe(false);
  });

  const invalid: Array<[string, string]> = [
    ['https://api.internal', 'not a URL'],
    ['api.internal/path', 'without a path'],
    ['api.internal:0', 'port "0"'],
    ['api.internal:99999', 'port "99999"'],
    ['api.internal:http', 'port "http"'],
    ['10.0.0.0/33', 'prefix length must be 0-32'],
    ['10.0.0.256', 'not a valid IPv4 address'],
    ['fd00::/129', 'prefix length must be 0-128'],
    ['[fd00::1', 'missing "]"'],
    ['a*b.example', 'wildcard'],
    ['exa mple.com', 'not a valid host name'],
  ];
  it.each(invalid)('invalid pattern %j is reported with its reason', (pattern, reason) => {
    const parse = () => AllowList.parse(`ok.example,${pattern}`);
    expect(parse).toThrow(AllowListPatternError);
    expect(parse).toThrow(reason);
  });
});

describe('connect-time address check (DNS rebinding)', () => {
  const servers: Server[] = [];
  const agents: Agent[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.destroy()));
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  async function target(): Promise<{ port: number; hits: () => number }> {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end('hello');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as AddressInfo).port, hits: () => hits };
  }

  /** A resolver that says every name is 127.0.0.1, like a rebinding attacker's DNS would. */
  const rebinding: LookupAll = (_host, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);

  function dispatcher(allow: string): Agent {
    const agent = new Agent({ connect: guardedConnector(AllowList.parse(allow), { lookup: rebinding }) });
    agents.push(agent);
    return agent;
  }

  it('a hostname resolving to loopback does not pass a 10.0.0.0/8 rule', async () => {
    const t = await target();
    const allow = '10.0.0.0/8';
    // The first check lets the name through (only its address can decide)...
    expect(AllowList.parse(allow).checkDestination('innocent.example', t.port).allowed).toBe(true);
    // ...and the connector refuses once it sees where the name really points.
    const err = await request(`http://innocent.example:${t.port}/`, { dispatcher: dispatcher(allow) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DestinationRefusedError);
    expect((err as Error).message).toContain('resolved to 127.0.0.1');
    expect(t.hits()).toBe(0);
  });

  it('the same name passes a 127.0.0.0/8 rule and reaches the server', async () => {
    const t = await target();
    const res = await request(`http://innocent.example:${t.port}/`, {
      dispatcher: dispatcher('127.0.0.0/8'),
    });
    expect(await res.body.text()).toBe('hello');
    expect(t.hits()).toBe(1);
  });

  it('a name allowed by host pattern that resolves to a metadata address is refused', async () => {
    const metadata: LookupAll = (_h, cb) => cb(null, [{ address: '169.254.169.254', family: 4 }]);
    const agent = new Agent({
      connect: guardedConnector(AllowList.parse('metadata.google.internal'), { lookup: metadata }),
    });
    agents.push(agent);
    const err = await request('http://metadata.google.internal/', { dispatcher: agent }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DestinationRefusedError);
    expect((err as Error).message).toContain('cloud metadata');
  });
});
