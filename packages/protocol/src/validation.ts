// The wire's shared character rules, in one place for both ends and for everything that checks
// input bound for the wire (ws keeps `lib/validation.js` for the same reason): the codec, the
// relay's header mapping, the deploy file's header names and agent identifiers, the agent's
// options and the control plane's upgrade check all read these and no copy of them.

/** RFC 9110 token characters: a header name, a method, an error code. */
export const HTTP_TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Header values: visible ASCII and Latin-1, space and tab; never CR, LF or NUL. */
export const HEADER_VALUE_PATTERN = /^[\t\x20-\x7e\x80-\xff]*$/;

/** What an agent may call itself (`BOREALIS_AGENT_IDENTIFIER`, a deploy file's `agentIdentifier`). */
export const AGENT_IDENTIFIER_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** How to write an agent identifier, for error messages that say how to fix one. */
export const AGENT_IDENTIFIER_RULE = 'use 1-128 of A-Z a-z 0-9 . _ - (case matters)';

export function isHttpToken(value: string): boolean {
  return HTTP_TOKEN_PATTERN.test(value);
}

export function isHeaderValue(value: string): boolean {
  return HEADER_VALUE_PATTERN.test(value);
}

export function isAgentIdentifier(value: string): boolean {
  return AGENT_IDENTIFIER_PATTERN.test(value);
}
