import { formatDuration, type ProgramArgs, packageVersion, parseProgramArgs } from '@borealis/protocol';
import { Defaults } from './control-plane-options.js';

/** The control plane's version, from its package.json (one level above both src/ and dist/). */
export const SERVER_VERSION: string = packageVersion(new URL('../package.json', import.meta.url));

export const SERVER_HELP = `Usage: borealis-server [--help] [--version]

The Borealis control plane: the HTTP API, the web UI (/ui/), callbacks, and the WebSocket agents
dial. Configured by the environment only; every invalid value stops the start with a message
naming the variable and the fix. SIGTERM or SIGINT drain it (BOREALIS_SHUTDOWN_GRACE).

Environment:
  BOREALIS_HOST                listen address (default ${Defaults.host}; 0.0.0.0 in containers)
  BOREALIS_PORT                listen port (default ${Defaults.port}; 0: any free port)
  BOREALIS_PUBLIC_URL          the URL external systems reach (callback URIs); default the listen URL
  BOREALIS_DATA_DIR            the embedded default's files: database, API token, secret key (default ${Defaults.dataDir})
  BOREALIS_DATABASE_URL        a SQLite path or postgres://… (default <data dir>/borealis.db)
  BOREALIS_NATS_URL            the cluster bus for several replicas
  BOREALIS_REPLICA_ID          this replica's name (letters, digits, - and _)
  BOREALIS_LEASE_TIME          how long a deployment lease lasts unrenewed (default ${formatDuration(Defaults.leaseMs)})
  BOREALIS_API_TOKEN           the API's bearer token (default: generated into <data dir>/api-token)
  BOREALIS_SECRET_KEY          32 bytes (base64 or hex) encrypting secrets (default: a key file in the data dir)
  BOREALIS_DIRECT_ALLOW        addresses/CIDRs direct webhooks may reach despite the SSRF guard
  BOREALIS_CALLBACK_TIMEOUT    how long a webhook waits for its callback (default ${Defaults.callbackTimeoutMs / 3_600_000}h)
  BOREALIS_HEARTBEAT_INTERVAL  tunnel heartbeat (default ${formatDuration(Defaults.heartbeatIntervalMs)})
  BOREALIS_AGENT_MAX_STREAMS   concurrent calls per agent connection (default ${Defaults.agentMaxStreams})
  BOREALIS_AGENT_MAX_BUFFERED  bytes one agent connection may hold for slow readers (default ${Defaults.agentMaxBufferedBytes})
  BOREALIS_MAX_STREAMS         concurrent calls through all agents of this replica (default ${Defaults.maxStreams})
  BOREALIS_STREAM_WINDOW       flow-control window per stream, bytes (default ${Defaults.streamWindowBytes})
  BOREALIS_LOG_LEVEL           pino level (default ${Defaults.logLevel})
  BOREALIS_LOG_FORMAT          json (default) or pretty, for people
  BOREALIS_SHUTDOWN_GRACE      how long a SIGTERM/SIGINT drain may take (default ${formatDuration(Defaults.shutdownGraceMs)})

Full reference: README.md, "Configuration".`;

/**
 * What the command line asks for before anything starts: `--help` and `--version` answer and
 * exit; anything else is a usage error (the server takes no arguments).
 */
export function parseServerArgs(argv: string[]): ProgramArgs {
  return parseProgramArgs('borealis-server', argv);
}
