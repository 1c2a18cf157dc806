import { randomUUID } from 'node:crypto';
import {
  AGENT_CONNECT_PATH,
  AGENT_IDENTIFIER_PATTERN,
  encodeBasicCredentials,
  formatDuration,
  parseDuration,
  withDefaults,
} from '@borealis/protocol';
import type { Logger } from 'pino';
import { AllowList, AllowListPatternError } from './allow-list.js';
import { AgentConfigError } from './errors.js';
import type { LookupAll } from './guarded-connector.js';
import {
  type KubernetesCredentials,
  KubernetesSettingError,
  loadKubernetesCredentials,
} from './kubernetes-credentials.js';
import { proxyFor } from './proxy.js';

/**
 * The agent's options in three stages: what the user writes (`AgentOptions`, strings as they come
 * from the environment or numbers from code), with defaults filled in, and compiled (parsed,
 * checked, ready to use). Validation happens once, at start, and reports every problem with the
 * variable that holds it and how to fix it.
 */
export interface AgentOptions {
  /** http(s)://host[:port] of the control plane; the agent dials `<url>/api/v1/agents/connect`. */
  controlPlaneUrl: string;
  identifier: string;
  clientId: string;
  clientSecret: string;
  /** BOREALIS_ALLOW: comma-separated patterns, or a list. Unset = every destination refused. */
  allow?: string | readonly string[];
  /** 0 = an ephemeral port (logged in the "listening" line). */
  healthPort?: number | string;
  healthHost?: string;
  maxStreams?: number | string;
  /** How long a drain waits for in-flight streams; `30s`, or milliseconds. */
  drainGrace?: string | number;
  logLevel?: string;
  reconnectBase?: string | number;
  reconnectMax?: string | number;
  /** A connection that received WELCOME and lived this long resets the backoff. */
  stableAfter?: string | number;
  httpsProxy?: string;
  httpProxy?: string;
  noProxy?: string;
  /** Tests: a pino logger to write to instead of stdout. */
  logger?: Logger;
  /** Tests: the random source for backoff jitter. */
  random?: () => number;
  /** Tests: DNS for destinations (e.g. a rebinding resolver). */
  lookup?: LookupAll;
  /**
   * Extra CA certificates to trust for the control plane's TLS (tests, or code embedding the
   * agent). The program itself uses NODE_EXTRA_CA_CERTS for private CAs.
   */
  ca?: string | Buffer;
  /** One per process by default; the control plane shows it per connection. */
  instanceId?: string;
  /** BOREALIS_KUBERNETES: `in-cluster` or `kubeconfig:PATH`; unset = no Kubernetes API. */
  kubernetes?: string;
  /** BOREALIS_KUBERNETES_NAMESPACES: namespaces to check access to at start (comma-separated). */
  kubernetesNamespaces?: string;
  /** In-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT as the pod sees them. */
  kubernetesServiceEnv?: { KUBERNETES_SERVICE_HOST?: string; KUBERNETES_SERVICE_PORT?: string };
  /** Tests: where the service account's token, ca.crt and namespace files are. */
  serviceAccountDir?: string;
}

/** Where each option comes from, so errors can name what the user actually wrote. */
export const OptionEnv = {
  controlPlaneUrl: 'BOREALIS_CONTROL_PLANE_URL',
  identifier: 'BOREALIS_AGENT_IDENTIFIER',
  clientId: 'BOREALIS_CLIENT_ID',
  clientSecret: 'BOREALIS_CLIENT_SECRET',
  allow: 'BOREALIS_ALLOW',
  healthPort: 'BOREALIS_AGENT_HEALTH_PORT',
  healthHost: 'BOREALIS_AGENT_HEALTH_HOST',
  maxStreams: 'BOREALIS_AGENT_MAX_STREAMS',
  drainGrace: 'BOREALIS_DRAIN_GRACE',
  logLevel: 'BOREALIS_LOG_LEVEL',
  reconnectBase: 'BOREALIS_RECONNECT_BASE',
  reconnectMax: 'BOREALIS_RECONNECT_MAX',
  stableAfter: 'BOREALIS_RECONNECT_STABLE_AFTER',
  httpsProxy: 'HTTPS_PROXY',
  httpProxy: 'HTTP_PROXY',
  noProxy: 'NO_PROXY',
  kubernetes: 'BOREALIS_KUBERNETES',
  kubernetesNamespaces: 'BOREALIS_KUBERNETES_NAMESPACES',
} as const;

export const Defaults = {
  // Not 8080-8083: a control plane (and the README's scale-out example) may use those on the same host.
  healthPort: 9181,
  healthHost: '127.0.0.1',
  maxStreams: 256,
  drainGrace: '30s',
  logLevel: 'info',
  reconnectBase: '500ms',
  reconnectMax: '30s',
  stableAfter: '10s',
} as const;

/** One instance id per process: several agents in one process (tests) share it unless told. */
const PROCESS_INSTANCE_ID = randomUUID();

export type AgentOptionsWithDefaults = AgentOptions &
  Required<
    Pick<
      AgentOptions,
      | 'healthPort'
      | 'healthHost'
      | 'maxStreams'
      | 'drainGrace'
      | 'logLevel'
      | 'reconnectBase'
      | 'reconnectMax'
      | 'stableAfter'
      | 'instanceId'
      | 'random'
    >
  >;

export interface CompiledAgentOptions {
  controlPlaneUrl: URL;
  /** ws(s)://.../api/v1/agents/connect */
  connectUrl: URL;
  identifier: string;
  clientId: string;
  /** `Basic base64(clientId:clientSecret)`; the secret itself is kept nowhere else. */
  authorization: string;
  allowList: AllowList;
  healthPort: number;
  healthHost: string;
  maxStreams: number;
  drainGraceMs: number;
  logLevel: string;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  stableAfterMs: number;
  /** The proxy to dial the control plane through, or null to go direct. */
  proxy: URL | null;
  instanceId: string;
  random: () => number;
  lookup: LookupAll | undefined;
  logger: Logger | undefined;
  ca: string | Buffer | undefined;
  /** Set when the agent speaks for its cluster; its credentials never leave the agent. */
  kubernetes: KubernetesCredentials | undefined;
  /** Namespaces to report access for at start (empty: list them, or the identity's own). */
  kubernetesNamespaces: string[];
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const IDENTIFIER = AGENT_IDENTIFIER_PATTERN;

/** Reads the documented environment variables; unset or empty ones are left to the defaults. */
export function agentOptionsFromEnv(env: NodeJS.ProcessEnv): AgentOptions {
  const get = (name: string) => {
    // Proxy variables are honoured in both spellings, as curl and most tools do.
    const value = env[name] ?? (name.endsWith('_PROXY') ? env[name.toLowerCase()] : undefined);
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const options: AgentOptions = {
    controlPlaneUrl: get(OptionEnv.controlPlaneUrl) ?? '',
    identifier: get(OptionEnv.identifier) ?? '',
    clientId: get(OptionEnv.clientId) ?? '',
    // Generated secrets never start or end with spaces; trimming forgives a stray newline from
    // `$(cat secret-file)`.
    clientSecret: get(OptionEnv.clientSecret) ?? '',
  };
  const optional = [
    'allow',
    'healthPort',
    'healthHost',
    'maxStreams',
    'drainGrace',
    'logLevel',
    'reconnectBase',
    'reconnectMax',
    'stableAfter',
    'httpsProxy',
    'httpProxy',
    'noProxy',
    'kubernetes',
    'kubernetesNamespaces',
  ] as const;
  for (const key of optional) {
    const value = get(OptionEnv[key]);
    if (value !== undefined) options[key] = value;
  }
  if (options.kubernetes !== undefined) {
    const serviceEnv: NonNullable<AgentOptions['kubernetesServiceEnv']> = {};
    if (env.KUBERNETES_SERVICE_HOST) serviceEnv.KUBERNETES_SERVICE_HOST = env.KUBERNETES_SERVICE_HOST;
    if (env.KUBERNETES_SERVICE_PORT) serviceEnv.KUBERNETES_SERVICE_PORT = env.KUBERNETES_SERVICE_PORT;
    options.kubernetesServiceEnv = serviceEnv;
  }
  return options;
}

export function addDefaults(options: AgentOptions): AgentOptionsWithDefaults {
  return withDefaults(
    {
      ...options,
      instanceId: options.instanceId ?? PROCESS_INSTANCE_ID,
      random: options.random ?? Math.random,
    },
    Defaults,
  );
}

/** Validates everything at once; throws AgentConfigError listing each problem and its fix. */
export function compileAgentOptions(input: AgentOptions): CompiledAgentOptions {
  const o = addDefaults(input);
  const problems: string[] = [];
  const name = (key: keyof typeof OptionEnv) => `${OptionEnv[key]} (${key})`;

  let controlPlaneUrl: URL | undefined;
  if (!o.controlPlaneUrl) {
    problems.push(
      `${name('controlPlaneUrl')} is required: the control plane's URL, e.g. https://borealis.example.com`,
    );
  } else {
    try {
      controlPlaneUrl = new URL(o.controlPlaneUrl);
      if (controlPlaneUrl.protocol !== 'http:' && controlPlaneUrl.protocol !== 'https:') {
        problems.push(
          `${name('controlPlaneUrl')} must be http:// or https:// (the agent picks ws:// or wss:// itself); got "${o.controlPlaneUrl}"`,
        );
        controlPlaneUrl = undefined;
      } else if (controlPlaneUrl.username || controlPlaneUrl.password) {
        problems.push(
          `${name('controlPlaneUrl')} must not carry credentials; use ${OptionEnv.clientId} and ${OptionEnv.clientSecret}`,
        );
        controlPlaneUrl = undefined;
      }
    } catch {
      problems.push(
        `${name('controlPlaneUrl')} is not a URL: "${o.controlPlaneUrl}"; write e.g. http://127.0.0.1:8080`,
      );
    }
  }

  if (!o.identifier) {
    problems.push(
      `${name('identifier')} is required: the name deploy files use in agentIdentifier, e.g. prod-eu`,
    );
  } else if (!IDENTIFIER.test(o.identifier)) {
    problems.push(
      `${name('identifier')} must be 1-128 characters of A-Z a-z 0-9 . _ -; got "${o.identifier.slice(0, 140)}"`,
    );
  }
  if (!o.clientId)
    problems.push(
      `${name('clientId')} is required: create credentials with \`borealis agent-credentials create --name NAME --identifier <this agent's identifier>\``,
    );
  else if (o.clientId.includes(':')) problems.push(`${name('clientId')} must not contain ":"`);
  if (!o.clientSecret) {
    problems.push(
      `${name('clientSecret')} is required: the secret shown once by \`borealis agent-credentials create\``,
    );
  }

  let allowList = AllowList.parse(undefined);
  try {
    allowList = AllowList.parse(o.allow);
  } catch (err) {
    if (!(err instanceof AllowListPatternError)) throw err;
    problems.push(
      `${name('allow')} has an invalid pattern ${err.message}; patterns are host, *.domain, host:port, *:port, an IP address, a CIDR (10.0.0.0/8, 10.0.0.0/8:443, [fd00::/8]:443) or *`,
    );
  }

  const healthPort = integer(o.healthPort, 0, 65535);
  if (healthPort === undefined)
    problems.push(
      `${name('healthPort')} must be a port from 0 to 65535 (0 = any free port); got "${o.healthPort}"`,
    );
  if (!o.healthHost)
    problems.push(`${name('healthHost')} must be a host to listen on, e.g. 127.0.0.1 or 0.0.0.0`);
  const maxStreams = integer(o.maxStreams, 1, 100_000);
  if (maxStreams === undefined)
    problems.push(`${name('maxStreams')} must be a whole number from 1 to 100000; got "${o.maxStreams}"`);
  if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) {
    problems.push(`${name('logLevel')} must be one of ${LOG_LEVELS.join(', ')}; got "${o.logLevel}"`);
  }

  const duration = (key: 'drainGrace' | 'reconnectBase' | 'reconnectMax' | 'stableAfter', min: number) => {
    const ms = parseDuration(o[key]);
    if (ms === undefined || ms < min) {
      problems.push(
        `${name(key)} must be a duration like 500ms, 30s, 5m or 1h${min > 0 ? ` of at least ${formatDuration(min)}` : ''}; got "${o[key]}"`,
      );
    }
    return ms ?? 0;
  };
  const drainGraceMs = duration('drainGrace', 0);
  const reconnectBaseMs = duration('reconnectBase', 1);
  const reconnectMaxMs = duration('reconnectMax', 1);
  const stableAfterMs = duration('stableAfter', 0);
  if (reconnectBaseMs > 0 && reconnectMaxMs > 0 && reconnectBaseMs > reconnectMaxMs) {
    problems.push(
      `${name('reconnectBase')} (${formatDuration(reconnectBaseMs)}) must not exceed ${name('reconnectMax')} (${formatDuration(reconnectMaxMs)})`,
    );
  }

  let proxy: URL | null = null;
  if (controlPlaneUrl) {
    const secure = controlPlaneUrl.protocol === 'https:';
    const proxyText = secure ? o.httpsProxy : o.httpProxy;
    const proxyKey = secure ? 'httpsProxy' : 'httpProxy';
    if (proxyText) {
      try {
        const parsed = new URL(proxyText.includes('://') ? proxyText : `http://${proxyText}`);
        if (parsed.protocol !== 'http:') {
          problems.push(
            `${name(proxyKey)} must be an http:// proxy (CONNECT is spoken in clear to the proxy); got "${parsed.protocol}"`,
          );
        } else {
          proxy = proxyFor(controlPlaneUrl, parsed, o.noProxy);
        }
      } catch {
        problems.push(`${name(proxyKey)} is not a URL; write e.g. http://proxy.internal:3128`);
      }
    }
  }

  const kubernetesNamespaces = (o.kubernetesNamespaces ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const badNamespace = kubernetesNamespaces.find((n) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n));
  if (badNamespace !== undefined)
    problems.push(
      `${name('kubernetesNamespaces')} must list namespace names (lower-case letters, digits, -); "${badNamespace.slice(0, 70)}" is not one`,
    );

  let kubernetes: KubernetesCredentials | undefined;
  if (problems.length === 0 && o.kubernetes !== undefined) {
    try {
      kubernetes = loadKubernetesCredentials({
        setting: o.kubernetes,
        env: o.kubernetesServiceEnv ?? {},
        ...(o.serviceAccountDir ? { serviceAccountDir: o.serviceAccountDir } : {}),
      });
    } catch (err) {
      if (!(err instanceof KubernetesSettingError)) throw err;
      problems.push(`${name('kubernetes')} ${err.message}`);
    }
  }

  if (problems.length > 0) throw new AgentConfigError(problems);

  const url = controlPlaneUrl!;
  const connectUrl = new URL(url.href);
  connectUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  connectUrl.pathname = `${url.pathname.replace(/\/+$/, '')}${AGENT_CONNECT_PATH}`;
  connectUrl.search = '';
  connectUrl.hash = '';

  return {
    controlPlaneUrl: url,
    connectUrl,
    identifier: o.identifier,
    clientId: o.clientId,
    authorization: encodeBasicCredentials(o.clientId, o.clientSecret),
    allowList,
    healthPort: healthPort!,
    healthHost: o.healthHost,
    maxStreams: maxStreams!,
    drainGraceMs,
    logLevel: o.logLevel,
    reconnectBaseMs,
    reconnectMaxMs,
    stableAfterMs,
    proxy,
    instanceId: o.instanceId,
    random: o.random,
    lookup: o.lookup,
    logger: o.logger,
    ca: o.ca,
    kubernetes,
    kubernetesNamespaces,
  };
}

function integer(value: number | string, min: number, max: number): number | undefined {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}
