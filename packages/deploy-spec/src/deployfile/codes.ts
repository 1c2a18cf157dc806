/**
 * Every diagnostic the deploy-file validator can report: a stable code, its severity and what it
 * means. Tools and tests match on `code`, never on message text. `docs/deploy-file-diagnostics.md`
 * documents every code (a test checks that).
 */
export const DiagnosticCatalogue = {
  // --- reading the file ----------------------------------------------------------------------
  BRL_DF_TOO_LARGE: { severity: 'error', description: 'The file is larger than the limit (1 MiB).' },
  BRL_DF_ENCODING: { severity: 'error', description: 'The file is not valid UTF-8.' },
  BRL_DF_BINARY: {
    severity: 'error',
    description: 'The file contains NUL or other control characters: it is binary, not a YAML text file.',
  },
  BRL_DF_EMPTY: { severity: 'error', description: 'The file is empty or contains only comments.' },
  BRL_DF_YAML_SYNTAX: { severity: 'error', description: 'The file is not valid YAML.' },
  BRL_DF_MULTIPLE_DOCUMENTS: {
    severity: 'error',
    description: 'The file holds more than one YAML document (`---`); a deploy file is one document.',
  },
  BRL_DF_DUPLICATE_KEY: {
    severity: 'error',
    description: 'A key appears twice in one mapping (or both spellings of a key with two spellings).',
  },
  BRL_DF_TOO_DEEP: {
    severity: 'error',
    description: 'The file nests collections deeper than any deploy file needs.',
  },
  BRL_DF_ALIAS_LIMIT: {
    severity: 'error',
    description: 'YAML aliases (`*name`) expand to too many nodes (an "alias bomb").',
  },
  BRL_DF_INTERNAL: {
    severity: 'error',
    description:
      'The validator itself failed on this file; the file may be fine. Please report it with the file.',
  },
  // --- shape -----------------------------------------------------------------------------------
  BRL_DF_TYPE: {
    severity: 'error',
    description: 'A value has the wrong type (e.g. a list where a mapping is expected).',
  },
  BRL_DF_UNKNOWN_KEY: {
    severity: 'error',
    description: 'A key the format does not define; the hint suggests the closest known key.',
  },
  BRL_DF_REQUIRED: { severity: 'error', description: 'A required key is missing or has no value.' },
  BRL_DF_INVALID_VALUE: {
    severity: 'error',
    description: 'A value is not one of the allowed values, or does not match the allowed form.',
  },
  BRL_DF_OUT_OF_RANGE: { severity: 'error', description: 'A number is outside its allowed range.' },
  BRL_DF_EMPTY_COLLECTION: {
    severity: 'error',
    description: 'A list or map that needs at least one entry is empty.',
  },
  BRL_DF_ONE_OF: {
    severity: 'error',
    description:
      'Exactly one of several keys must be given (e.g. `canary` or `blueGreen`, `path` or `inline`).',
  },
  BRL_DF_STEP_NOT_ALLOWED: {
    severity: 'error',
    description:
      'A step kind that is valid elsewhere is not allowed in this list (e.g. `analysis` in `beforeDeployment`).',
  },
  BRL_DF_PAUSE: {
    severity: 'error',
    description:
      'A `pause` must be either timed (`duration` + `unit`) or a manual approval (`untilApproved: true`).',
  },
  BRL_DF_ROLE_NAME: {
    severity: 'warning',
    description:
      'A `requiresRoles` entry is not a role an API token can hold (control characters, a leading or trailing space, other scripts), so only an `admin` token could approve that pause.',
  },
  BRL_DF_VERSION: {
    severity: 'warning',
    description:
      '`version` is not `v1` (Armory tolerated other values such as `apps/v1`); the file is read as `v1`.',
  },
  BRL_DF_IGNORED_KEY: {
    severity: 'warning',
    description:
      'A key Armory once accepted and later dropped (e.g. `aggregationMethod` in an analysis query); it is accepted and ignored.',
  },
  BRL_DF_WRONG_KIND: {
    severity: 'error',
    description:
      "A key of the other `kind` (e.g. `artifacts` or a target's `region` in a `kind: kubernetes` file, `manifests` in a `kind: lambda` one).",
  },
  BRL_DF_NO_MANIFESTS: {
    severity: 'error',
    description:
      'A `kind: kubernetes` file has no `manifests` (at least one is required), or a `kind: lambda` file has no `artifacts`.',
  },
  BRL_DF_MANIFEST_NOT_FOUND: {
    severity: 'error',
    description:
      'A `manifests[].path` does not exist next to the deploy file (checked by `deploy validate -f` and `deploy start -f`, which know the directory; the API receives only the text and cannot check).',
  },
  BRL_DF_NO_ACTIVE_SERVICE: {
    severity: 'error',
    description:
      'A `blueGreen` strategy has no `activeService`, and no `trafficManagement[].kubernetes[].activeService` for the targets that use it names one either.',
  },
  BRL_DF_DURATION: { severity: 'error', description: 'A duration is not a positive whole number.' },
  BRL_DF_TIMEOUT_TOO_SHORT: {
    severity: 'error',
    description: '`deploymentConfig.timeout` is shorter than 60 seconds.',
  },
  BRL_DF_HTTP_METHOD: {
    severity: 'error',
    description: 'A webhook `method` is not an HTTP method Borealis can send.',
  },
  BRL_DF_INVALID_HEADER: {
    severity: 'error',
    description: 'A header key is not a valid HTTP header name, or a header value spans several lines.',
  },
  BRL_DF_INVALID_URI: {
    severity: 'error',
    description: 'A `uriTemplate` does not render to an absolute http(s) URL.',
  },
  // --- cross references ------------------------------------------------------------------------
  BRL_DF_UNKNOWN_WEBHOOK: {
    severity: 'error',
    description: 'A `runWebhook.name` names no webhook in `webhooks`.',
  },
  BRL_DF_UNKNOWN_STRATEGY: {
    severity: 'error',
    description: "A target's `strategy` names no entry of `strategies`.",
  },
  BRL_DF_UNKNOWN_TARGET: {
    severity: 'error',
    description: '`dependsOn`, `manifests[].targets` or `trafficManagement[].targets` names no target.',
  },
  BRL_DF_DEPENDS_CYCLE: {
    severity: 'error',
    description: '`dependsOn` forms a cycle; the message names it.',
  },
  BRL_DF_UNKNOWN_QUERY: {
    severity: 'error',
    description: 'An `analysis.queries` entry names no query in `analysis.queries`.',
  },
  BRL_DF_UNKNOWN_FUNCTION: {
    severity: 'error',
    description: '`providerOptions.lambda[].name` names no `artifacts[].functionName`.',
  },
  BRL_DF_NO_METRIC_PROVIDER: {
    severity: 'error',
    description:
      'An `analysis` step names no `metricProviderName`, and neither `analysis.defaultMetricProviderName` nor its queries name one: nothing could judge it.',
  },
  BRL_DF_DUPLICATE_NAME: {
    severity: 'error',
    description: 'Two webhooks (or two analysis queries) share a name.',
  },
  BRL_DF_NO_AGENT: {
    severity: 'error',
    description:
      'A `remoteNetworkAgent` webhook has no `agentIdentifier` and a target that calls it has no `account` to fall back on.',
  },
  BRL_DF_UNKNOWN_METRIC_PROVIDER: {
    severity: 'error',
    description:
      'An analysis query resolves to a metric provider that does not exist on the control plane (checked at start; the message lists those that do).',
  },
  BRL_DF_WEIGHT_ORDER: {
    severity: 'warning',
    description: 'Canary `setWeight` weights do not rise from step to step.',
  },
  BRL_DF_UNUSED_WEBHOOK: {
    severity: 'warning',
    description: 'A webhook is defined but no `runWebhook` calls it.',
  },
  BRL_DF_AGENT_IDENTIFIER: {
    severity: 'error',
    description:
      'An `agentIdentifier`, or the `account` a remote webhook without one falls back on, is not a name an agent can have (1-128 of A-Z a-z 0-9 . _ -), so no agent could ever answer it.',
  },
  BRL_DF_AGENT_IDENTIFIER_IGNORED: {
    severity: 'warning',
    description:
      'A webhook with `networkMode: direct` sets `agentIdentifier`, which only `remoteNetworkAgent` uses.',
  },
  // --- templates -------------------------------------------------------------------------------
  BRL_DF_UNQUOTED_TEMPLATE: {
    severity: 'error',
    description:
      'A value starting with `{{` is not quoted, so YAML reads it as a mapping (or fails); quote the whole value.',
  },
  BRL_DF_TEMPLATE_SYNTAX: { severity: 'error', description: 'A template is not valid Handlebars.' },
  BRL_DF_TEMPLATE_UNSUPPORTED: {
    severity: 'error',
    description:
      'A template uses helpers, blocks, partials, `@data` or `../`; only `{{root.name}}` is allowed.',
  },
  BRL_DF_TEMPLATED_HEADER_KEY: {
    severity: 'error',
    description: 'A header key contains `{{`: templating is supported in header values, never in keys.',
  },
  BRL_DF_UNKNOWN_ARMORY_VAR: {
    severity: 'error',
    description: 'An `armory.*` / `borealis.*` variable Borealis does not provide.',
  },
  BRL_DF_UNKNOWN_TEMPLATE_ROOT: {
    severity: 'error',
    description:
      'A template variable outside `armory.`, `borealis.`, `context.` and `secrets.` (or not `root.name`).',
  },
  BRL_DF_UNKNOWN_TEMPLATE_VAR: {
    severity: 'warning',
    description:
      'A `{{context.x}}` that neither the file-level `context` nor any calling `runWebhook.context` defines (it may still come from start-time `--context`).',
  },
  BRL_DF_PREVIEW_NOT_EXPOSED: {
    severity: 'warning',
    description:
      '`{{armory.preview.<service>}}` names a service that no `exposeServices` step of the file exposes.',
  },
  BRL_DF_OLD_PLACEHOLDER: {
    severity: 'warning',
    description:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text names the ${...} syntax itself
      'A webhook value uses `${name}`, the placeholder syntax of early Armory webhooks; it is not substituted but sent as written.',
  },
  BRL_DF_BODY_NOT_JSON: {
    severity: 'warning',
    description: 'A JSON `bodyTemplate.inline` does not render to valid JSON (e.g. a missing comma).',
  },
} as const satisfies Record<string, { severity: 'error' | 'warning'; description: string }>;

export type DiagnosticCode = keyof typeof DiagnosticCatalogue;
