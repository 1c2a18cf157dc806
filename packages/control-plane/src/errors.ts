/**
 * The control plane's error catalogue. Every error the control plane raises on purpose has a
 * stable `BRL_ERR_*` code, an HTTP status and a message template; callers match on `code`,
 * never on message text. `docs/errors.md` documents every code (a test checks that).
 *
 * Add codes in the section of the concern that raises them.
 */
export const ErrorCatalogue = {
  // --- api / generic -----------------------------------------------------------------------
  BRL_ERR_UNAUTHORIZED: { status: 401, message: 'Missing or invalid bearer token' },
  BRL_ERR_FORBIDDEN: {
    status: 403,
    message: "The token's roles do not allow this (the message names the role it needs)",
  },
  BRL_ERR_NOT_FOUND: { status: 404, message: 'Not found' },
  BRL_ERR_BAD_REQUEST: { status: 400, message: 'The request is not valid' },
  BRL_ERR_CONFLICT: { status: 409, message: 'The request conflicts with the current state' },
  BRL_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  BRL_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests' },
  BRL_ERR_INTERNAL: { status: 500, message: 'Internal error' },
  BRL_ERR_CONFIG: { status: 500, message: 'Invalid configuration' },
  BRL_ERR_SHUTTING_DOWN: {
    status: 503,
    message: 'This control-plane replica is shutting down; retry on another replica or once it is back',
  },

  // --- relay (agents, tunnel, dispatch) ----------------------------------------------------
  BRL_ERR_AGENT_NOT_CONNECTED: { status: 503, message: 'No agent with that identifier is connected' },
  BRL_ERR_AGENT_BUSY: {
    status: 503,
    message: 'The agent is at its limit of concurrent streams or buffered bytes',
  },
  BRL_ERR_AGENT_DISCONNECTED: {
    status: 502,
    message: 'The agent disconnected while the request was in flight',
  },
  BRL_ERR_AGENT_REFUSED: { status: 502, message: 'The agent refused the request' },
  BRL_ERR_DESTINATION_UNREACHABLE: { status: 502, message: 'The agent could not connect to the destination' },
  BRL_ERR_DISPATCH_TIMEOUT: { status: 504, message: 'The request through the agent timed out' },
  BRL_ERR_DISPATCH_CANCELLED: { status: 499, message: 'The request was cancelled by its caller' },
  BRL_ERR_RELAY_OVERLOADED: { status: 503, message: 'The control plane is at its global limit of streams' },
  BRL_ERR_AGENT_AUTH: { status: 401, message: 'Agent credentials are missing or invalid' },
  BRL_ERR_AGENT_CREDENTIAL_REVOKED: { status: 401, message: 'The agent credential was revoked' },
  BRL_ERR_AGENT_IDENTIFIER_FORBIDDEN: {
    status: 403,
    message: 'This credential may not serve that agent identifier',
  },
  BRL_ERR_PROTOCOL_VERSION: { status: 426, message: 'Tunnel protocol version mismatch' },

  // --- templates (webhook request rendering) -----------------------------------------------
  BRL_ERR_TEMPLATE_SYNTAX: { status: 400, message: 'The template is not valid Handlebars' },
  BRL_ERR_TEMPLATE_UNSUPPORTED: {
    status: 400,
    message: 'The template uses a construct Borealis does not allow (helpers, blocks, partials, @data)',
  },
  BRL_ERR_TEMPLATE_MISSING_VAR: {
    status: 400,
    message: 'The template references a variable that has no value',
  },
  BRL_ERR_TEMPLATE_HEADER_INJECTION: {
    status: 400,
    message: 'A rendered header value contains CR, LF or NUL, which would split the header',
  },
  BRL_ERR_TEMPLATE_INVALID_URI: {
    status: 400,
    message: 'The rendered uriTemplate is not a valid http(s) URL',
  },

  // --- store and secrets -------------------------------------------------------------------
  BRL_ERR_STORE_UNAVAILABLE: { status: 503, message: 'The database cannot be reached' },
  BRL_ERR_STORE_MIGRATION: { status: 500, message: 'The database schema could not be migrated' },
  BRL_ERR_SECRET_KEY: { status: 500, message: 'The secret encryption key is missing, invalid or wrong' },
  BRL_ERR_SECRET_NAME: { status: 400, message: 'The secret name is not valid' },
  BRL_ERR_SECRET_UNREADABLE: { status: 500, message: 'A stored secret failed its integrity check' },

  // --- webhooks and callbacks --------------------------------------------------------------
  BRL_ERR_WEBHOOK_SSRF_REFUSED: {
    status: 403,
    message:
      'A direct webhook may not reach a loopback, private, link-local or metadata address unless BOREALIS_DIRECT_ALLOW allows it',
  },
  BRL_ERR_WEBHOOK_UNREACHABLE: { status: 502, message: 'The webhook endpoint could not be reached' },
  BRL_ERR_WEBHOOK_TIMEOUT: { status: 504, message: 'The webhook endpoint did not answer in time' },
  BRL_ERR_WEBHOOK_HTTP_STATUS: {
    status: 502,
    message: 'The webhook endpoint answered with a status other than 2xx',
  },
  BRL_ERR_WEBHOOK_NO_AGENT: {
    status: 400,
    message: 'A remoteNetworkAgent webhook names no agentIdentifier and its target has no account',
  },
  BRL_ERR_WEBHOOK_NO_PUBLIC_URL: {
    status: 500,
    message: 'There is no public URL to build callback URIs from; set BOREALIS_PUBLIC_URL',
  },
  BRL_ERR_WEBHOOK_SECRET_MISSING: {
    status: 400,
    message: 'The webhook signingSecret names a secret that does not exist',
  },
  BRL_ERR_WEBHOOK_CALLBACK_TIMEOUT: { status: 504, message: 'No callback arrived before the deadline' },
  BRL_ERR_WEBHOOK_CANCELLED: { status: 409, message: 'The webhook run was cancelled' },
  BRL_ERR_WEBHOOK_CALLBACK_FAILED: { status: 422, message: 'The callback reported failure (success: false)' },
  BRL_ERR_CALLBACK_UNKNOWN: { status: 404, message: 'No webhook run has this callback token' },
  BRL_ERR_CALLBACK_INVALID: {
    status: 400,
    message: 'The callback body must be JSON with a boolean "success"',
  },
  BRL_ERR_CALLBACK_CONFLICT: {
    status: 409,
    message: 'The webhook run already settled with another outcome, was cancelled, or is past its deadline',
  },

  // --- engine and deployments ------------------------------------------------------------------
  BRL_ERR_DEPLOY_FILE_INVALID: {
    status: 400,
    message: 'The deploy file has errors (see diagnostics, with line and column)',
  },
  BRL_ERR_DRIVER_UNSUPPORTED_KIND: {
    status: 400,
    message: "The deploy file's kind (e.g. lambda) is not one the control plane's target driver deploys",
  },
  BRL_ERR_DEPLOYMENT_NOT_FOUND: { status: 404, message: 'No deployment with that id' },
  BRL_ERR_DEPLOYMENT_IN_PROGRESS: {
    status: 409,
    message: 'A deployment of this application is already running (or queued, with enqueueOne)',
  },
  BRL_ERR_DECISION_CONFLICT: {
    status: 409,
    message: 'The environment is not waiting for that decision',
  },
  BRL_ERR_DEPLOYMENT_NOT_DRIVEN: {
    status: 503,
    message: 'Another control-plane replica drives this deployment; try again',
  },

  // --- metric providers and analysis ----------------------------------------------------------
  BRL_ERR_METRIC_PROVIDER_INVALID: { status: 400, message: 'The metric provider definition is not valid' },
  BRL_ERR_METRIC_PROVIDER_NOT_FOUND: { status: 404, message: 'No metric provider with that name' },
  BRL_ERR_METRIC_UNREACHABLE: {
    status: 502,
    message: 'The metric provider could not be reached (directly or through its agent)',
  },
  BRL_ERR_METRIC_TIMEOUT: { status: 504, message: 'The metric provider did not answer in time' },
  BRL_ERR_METRIC_QUERY_FAILED: {
    status: 502,
    message: 'The metric provider answered the query with an error',
  },
  BRL_ERR_METRIC_NOT_A_NUMBER: {
    status: 422,
    message: 'The query did not yield exactly one number (several series, no data, or not a number)',
  },

  // --- cluster (scale-out: NATS bus between replicas) ----------------------------------------
  BRL_ERR_CLUSTER_UNAVAILABLE: {
    status: 503,
    message: 'The cluster bus (NATS) or the replica that should answer cannot be reached',
  },
} as const;

export type ErrorCode = keyof typeof ErrorCatalogue;

export interface BorealisErrorOptions {
  cause?: unknown;
  /** Extra structured detail returned to API callers (must never contain secrets). */
  details?: Record<string, unknown>;
  retryable?: boolean;
}

export class BorealisError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message?: string, options: BorealisErrorOptions = {}) {
    super(
      message ?? ErrorCatalogue[code].message,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = 'BorealisError';
    this.code = code;
    this.status = ErrorCatalogue[code].status;
    this.details = options.details;
    this.retryable = options.retryable ?? false;
  }

  /** The JSON body of an API error answer: `{"error": {"code", "message", ...details}}`. */
  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...(this.details ?? {}) } };
  }

  /** The error as it travels to another replica (`fromWire` rebuilds it there, code and all). */
  toWire(): BorealisWireError {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details ?? {} };
  }

  /**
   * An error another replica sent (see `toWire`). A code this release does not know (a newer
   * replica's) becomes BRL_ERR_INTERNAL; a missing message, the catalogue's.
   */
  static fromWire(wire: Partial<BorealisWireError> & { code: string }): BorealisError {
    const code: ErrorCode = Object.hasOwn(ErrorCatalogue, wire.code)
      ? (wire.code as ErrorCode)
      : 'BRL_ERR_INTERNAL';
    return new BorealisError(code, wire.message, {
      retryable: wire.retryable === true,
      ...(wire.details === undefined ? {} : { details: wire.details }),
    });
  }
}

/** A `BorealisError` between replicas: plain JSON. */
export interface BorealisWireError {
  code: string;
  message: string;
  retryable: boolean;
  details: Record<string, unknown>;
}

export function isBorealisError(err: unknown, code?: ErrorCode): err is BorealisError {
  return err instanceof BorealisError && (code === undefined || err.code === code);
}
