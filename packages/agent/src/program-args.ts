import { type ProgramArgs, parseProgramArgs } from '@borealis/protocol';
import { Defaults } from './agent-options.js';
import { AGENT_VERSION } from './agent-version.js';

export { AGENT_VERSION };

export const AGENT_HELP = `Usage: borealis-agent [--help] [--version]

The Borealis Remote Network Agent: dials out to the control plane over a WebSocket and makes the
calls it carries inside this network, to the destinations BOREALIS_ALLOW lists (none when unset).
Configured by the environment only. SIGTERM or SIGINT drain it (BOREALIS_DRAIN_GRACE); a second
signal exits at once.

Environment:
  BOREALIS_CONTROL_PLANE_URL       required: http(s)://host[:port] of the control plane
  BOREALIS_AGENT_IDENTIFIER        required: the name deploy files use in agentIdentifier
  BOREALIS_CLIENT_ID               required: from \`borealis agent-credentials create\`
  BOREALIS_CLIENT_SECRET           required: shown once by the same command
  BOREALIS_ALLOW                   destinations it may call: hosts, *.domains, addresses, CIDRs, each :port (empty: none)
  BOREALIS_AGENT_HEALTH_PORT       /healthz, /readyz, /metrics (default ${Defaults.healthPort}; 0: any free port)
  BOREALIS_AGENT_HEALTH_HOST       their listen address (default ${Defaults.healthHost})
  BOREALIS_AGENT_MAX_STREAMS       concurrent requests (default ${Defaults.maxStreams})
  BOREALIS_DRAIN_GRACE             how long SIGTERM waits for in-flight requests (default ${Defaults.drainGrace})
  BOREALIS_LOG_LEVEL               fatal … trace, silent (default ${Defaults.logLevel})
  BOREALIS_LOG_FORMAT              json (default) or pretty, for people
  BOREALIS_RECONNECT_BASE          reconnect backoff start (default ${Defaults.reconnectBase})
  BOREALIS_RECONNECT_MAX           reconnect backoff cap (default ${Defaults.reconnectMax})
  BOREALIS_RECONNECT_STABLE_AFTER  a connection up this long resets the backoff (default ${Defaults.stableAfter})
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY  proxy for the control plane and destinations
  NODE_EXTRA_CA_CERTS              a private CA to trust

Full reference: packages/agent/README.md.`;

/** `--help` and `--version` answer before anything starts; other arguments are usage errors. */
export function parseAgentArgs(argv: string[]): ProgramArgs {
  return parseProgramArgs('borealis-agent', argv);
}
