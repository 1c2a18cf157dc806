import { parseDuration } from '@borealis/protocol';
import { describe, expect, it } from 'vitest';
import { agentOptionsFromEnv, compileAgentOptions } from './agent-options.js';
import { AgentConfigError } from './errors.js';

const base = {
  BOREALIS_CONTROL_PLANE_URL: 'https://cp.example.com',
  BOREALIS_AGENT_IDENTIFIER: 'prod-eu',
  BOREALIS_CLIENT_ID: 'client',
  BOREALIS_CLIENT_SECRET: 'secret\n',
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    compileAgentOptions(agentOptionsFromEnv(env));
  } catch (err) {
    if (err instanceof AgentConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('agent options', () => {
  it('compiles the environment with defaults', () => {
    const o = compileAgentOptions(agentOptionsFromEnv(base));
    expect(o.connectUrl.href).toBe('wss://cp.example.com/api/v1/agents/connect');
    expect(o.authorization).toBe(`Basic ${Buffer.from('client:secret').toString('base64')}`);
    expect(o.healthPort).toBe(9181);
    expect(o.healthHost).toBe('127.0.0.1');
    expect(o.maxStreams).toBe(256);
    expect(o.drainGraceMs).toBe(30_000);
    expect(o.reconnectBaseMs).toBe(500);
    expect(o.reconnectMaxMs).toBe(30_000);
    expect(o.allowList.isEmpty).toBe(true);
    expect(o.proxy).toBeNull();
  });

  it('keeps a path prefix and picks ws:// for http://', () => {
    const o = compileAgentOptions(
      agentOptionsFromEnv({ ...base, BOREALIS_CONTROL_PLANE_URL: 'http://127.0.0.1:8080/borealis/' }),
    );
    expect(o.connectUrl.href).toBe('ws://127.0.0.1:8080/borealis/api/v1/agents/connect');
  });

  it('reports every missing variable at once, each with its name and a fix', () => {
    const found = problems({});
    expect(found).toHaveLength(4);
    expect(found[0]).toMatch(/^BOREALIS_CONTROL_PLANE_URL \(controlPlaneUrl\) is required/);
    expect(found[1]).toMatch(/^BOREALIS_AGENT_IDENTIFIER \(identifier\) is required/);
    expect(found[2]).toMatch(/^BOREALIS_CLIENT_ID .* is required: create credentials with/);
    expect(found[3]).toMatch(/^BOREALIS_CLIENT_SECRET .* is required/);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['BOREALIS_CONTROL_PLANE_URL', 'ws://cp:8080', /must be http:\/\/ or https:\/\//],
    ['BOREALIS_CONTROL_PLANE_URL', 'not a url', /is not a URL/],
    ['BOREALIS_CONTROL_PLANE_URL', 'https://u:p@cp', /must not carry credentials/],
    ['BOREALIS_AGENT_IDENTIFIER', 'has space', /must be 1-128 characters/],
    ['BOREALIS_AGENT_IDENTIFIER', 'x'.repeat(129), /must be 1-128 characters/],
    [
      'BOREALIS_ALLOW',
      'ok.example,10.0.0.0/99',
      /BOREALIS_ALLOW \(allow\) has an invalid pattern "10.0.0.0\/99"/,
    ],
    ['BOREALIS_AGENT_HEALTH_PORT', '70000', /BOREALIS_AGENT_HEALTH_PORT .* from 0 to 65535/],
    ['BOREALIS_AGENT_MAX_STREAMS', '0', /BOREALIS_AGENT_MAX_STREAMS .* from 1/],
    [
      'BOREALIS_DRAIN_GRACE',
      '30 seconds',
      /BOREALIS_DRAIN_GRACE .* like 500ms, 30s, 5m or 1h; got "30 seconds"/,
    ],
    ['BOREALIS_RECONNECT_BASE', '0ms', /BOREALIS_RECONNECT_BASE .* at least 1ms/],
    ['BOREALIS_RECONNECT_BASE', '1m', /must not exceed BOREALIS_RECONNECT_MAX/],
    ['BOREALIS_LOG_LEVEL', 'verbose', /BOREALIS_LOG_LEVEL .* one of fatal, error/],
    ['HTTPS_PROXY', 'socks5://p:1080', /HTTPS_PROXY .* must be an http:\/\/ proxy/],
  ];
  it.each(bad)('%s=%j is refused', (name, value, message) => {
    const found = problems({ ...base, [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('AgentConfigError carries a code and exit code 2', () => {
    try {
      compileAgentOptions(agentOptionsFromEnv({}));
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'BRL_ERR_AGENT_CONFIG', exitCode: 2 });
      expect((err as Error).message).toContain('BOREALIS_CLIENT_SECRET');
    }
  });

  it('uses HTTPS_PROXY for https and HTTP_PROXY for http, unless NO_PROXY exempts the host', () => {
    const https = compileAgentOptions(
      agentOptionsFromEnv({ ...base, HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://other:1' }),
    );
    expect(https.proxy?.host).toBe('proxy:3128');
    const lower = compileAgentOptions(agentOptionsFromEnv({ ...base, https_proxy: 'proxy:3128' }));
    expect(lower.proxy?.href).toBe('http://proxy:3128/');
    const http = compileAgentOptions(
      agentOptionsFromEnv({
        ...base,
        BOREALIS_CONTROL_PLANE_URL: 'http://cp:8080',
        HTTP_PROXY: 'http://other:1',
      }),
    );
    expect(http.proxy?.host).toBe('other:1');
    for (const noProxy of ['cp.example.com', '.example.com', 'example.com', '*', 'x, cp.example.com:443']) {
      const o = compileAgentOptions(
        agentOptionsFromEnv({ ...base, HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: noProxy }),
      );
      expect(o.proxy, noProxy).toBeNull();
    }
    const port = compileAgentOptions(
      agentOptionsFromEnv({ ...base, HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'cp.example.com:8443' }),
    );
    expect(port.proxy).not.toBeNull();
  });

  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
  });
});
