/**
 * A webhook definition: method, URI and header templates, network mode and the agent it goes
 * through (checked with the protocol's agent-identifier grammar), retries, callbacks.
 */
import { AGENT_IDENTIFIER_RULE, isAgentIdentifier } from '@borealis/protocol';
import { suggestIdentifier } from './routing.js';
import type { ObjectSchema, RefineAt } from './schema-language.js';
import { bool, HEADER_NAME, MAX_RETRY_COUNT, name, text } from './schema-primitives.js';
import { HTTP_METHODS, NETWORK_MODES } from './spec-types.js';

export const webhook: ObjectSchema = {
  kind: 'object',
  what: 'a webhook definition',
  fields: {
    name: { schema: name(), required: true },
    method: {
      schema: text({ enum: HTTP_METHODS, enumCode: 'BRL_DF_HTTP_METHOD' }),
      required: true,
    },
    uriTemplate: { schema: text({ template: true, nonEmpty: true }), required: true },
    networkMode: { schema: text({ enum: NETWORK_MODES }), default: () => 'direct' },
    agentIdentifier: {
      schema: text({
        nonEmpty: true,
        // An agent can only be called what the protocol allows: `prod eu` would validate and then
        // fail at dispatch as "no agent connected".
        refine: (id: string, at: RefineAt) => {
          if (!isAgentIdentifier(id))
            at.report(
              'BRL_DF_AGENT_IDENTIFIER',
              `agentIdentifier ${JSON.stringify(id)} is not a name an agent can have: ${AGENT_IDENTIFIER_RULE}`,
              `write the identifier the agent was started with (its BOREALIS_AGENT_IDENTIFIER; borealis agents list shows them), e.g. ${suggestIdentifier(id)}`,
            );
          return id;
        },
      }),
    },
    headers: {
      schema: {
        kind: 'list',
        what: 'a list of {key, value}',
        items: {
          kind: 'object',
          what: 'a header {key, value}',
          fields: {
            key: { schema: text({ nonEmpty: true }), required: true },
            value: { schema: text({ coerce: true, template: true }), required: true },
          },
        },
      },
      default: () => [],
    },
    bodyTemplate: {
      schema: {
        kind: 'object',
        what: 'a bodyTemplate {inline}',
        fields: { inline: { schema: text({ template: true }), required: true } },
      },
    },
    retryCount: {
      schema: {
        kind: 'int',
        min: 0,
        max: MAX_RETRY_COUNT,
        rangeHint: `retryCount is capped at ${MAX_RETRY_COUNT}`,
      },
      default: () => 0,
    },
    disableCallback: { schema: bool, default: () => false },
    signingSecret: {
      schema: text({
        pattern: /^[A-Za-z0-9_.-]+$/,
        patternHint: 'signingSecret is the NAME of a Borealis secret, not its value',
      }),
    },
  },
};

export const HEADER_NAME_PATTERN = HEADER_NAME;
