import { describe, expect, it } from 'vitest';
import { isAgentIdentifier, isHeaderValue, isHttpToken } from './validation.js';

describe('the wire character rules', () => {
  it.each([
    ['prod-eu', true],
    ['Prod.EU_1', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['prod eu', false],
    ['', false],
    ['prod/eu', false],
    ['prödeu', false],
  ])('agent identifier %j → %s', (id, ok) => expect(isAgentIdentifier(id)).toBe(ok));

  it.each([
    ['X-Request-Id', true],
    ["!#$%&'*+-.^_`|~", true],
    ['x y', false],
    ['x:y', false],
    ['', false],
  ])('header name %j → %s', (name, ok) => expect(isHttpToken(name)).toBe(ok));

  it.each([
    ['text/plain; q=0.5', true],
    ['tab\there', true],
    ['', true],
    ['a\r\nb', false],
    ['nul\0', false],
  ])('header value %j → %s', (value, ok) => expect(isHeaderValue(value)).toBe(ok));
});
