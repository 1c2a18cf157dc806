import { describe, expect, it } from 'vitest';
import { type AttemptFacts, type AttemptOutcome, attemptOutcome } from './attempt-outcome.js';

// Jitter fixed at one half: the backoff after attempt n is half of min(cap, base * 2^(n-1)).
const backoff = { baseMs: 1_000, capMs: 30_000, retryAfterMaxMs: 60_000, random: () => 0.5 };
const now = Date.parse('2026-03-01T12:00:00Z');
const url = 'https://hooks.example/deploy';

function facts(over: Partial<AttemptFacts>): AttemptFacts {
  return {
    cancelled: false,
    attempt: 1,
    retryCount: 2,
    disableCallback: false,
    displayUrl: url,
    backoff,
    now,
    ...over,
  };
}

const answer = (status: number, more: { retryAfter?: string; bodyStart?: string } = {}) => ({
  answer: {
    status,
    bodyStart: more.bodyStart ?? '',
    ...(more.retryAfter ? { retryAfter: more.retryAfter } : {}),
  },
});
const unreachable = {
  code: 'BRL_ERR_WEBHOOK_UNREACHABLE',
  message: `could not reach ${url}: connection refused`,
};
const refused = { code: 'BRL_ERR_AGENT_REFUSED', message: `was refused calling ${url}`, retryable: false };
const cancelledError = { code: 'BRL_ERR_WEBHOOK_CANCELLED', message: `The call to ${url} was stopped` };

const rows: Array<[string, Partial<AttemptFacts>, AttemptOutcome]> = [
  // 2xx
  ['200 waits for the callback', answer(200), { kind: 'await-callback' }],
  ['299 waits for the callback too', answer(299), { kind: 'await-callback' }],
  ['204 with disableCallback succeeds now', { ...answer(204), disableCallback: true }, { kind: 'succeed' }],
  [
    '2xx on the last attempt still waits for the callback',
    { ...answer(202), attempt: 3, retryCount: 2 },
    { kind: 'await-callback' },
  ],
  [
    'an answer that came is judged even though the run was stopped meanwhile',
    { ...answer(200), cancelled: true },
    { kind: 'await-callback' },
  ],
  // 5xx and 429, retries left
  [
    '500 without Retry-After retries after the backoff, quoting the body',
    answer(500, { bodyStart: '  oops  ' }),
    { kind: 'retry', delayMs: 500, reason: `${url} answered 500: oops` },
  ],
  [
    '503 on the second attempt backs off twice as long',
    { ...answer(503), attempt: 2 },
    { kind: 'retry', delayMs: 1_000, reason: `${url} answered 503` },
  ],
  [
    '503 with Retry-After in seconds waits that long',
    answer(503, { retryAfter: '7' }),
    { kind: 'retry', delayMs: 7_000, reason: `${url} answered 503 (Retry-After: 7)` },
  ],
  [
    '429 with Retry-After as an HTTP date waits until then',
    answer(429, { retryAfter: 'Sun, 01 Mar 2026 12:00:20 GMT' }),
    {
      kind: 'retry',
      delayMs: 20_000,
      reason: `${url} answered 429 (Retry-After: Sun, 01 Mar 2026 12:00:20 GMT)`,
    },
  ],
  [
    '429 with Retry-After past the cap waits only the cap',
    answer(429, { retryAfter: '3600' }),
    { kind: 'retry', delayMs: 60_000, reason: `${url} answered 429 (Retry-After: 3600)` },
  ],
  [
    '429 without Retry-After retries after the backoff',
    answer(429),
    { kind: 'retry', delayMs: 500, reason: `${url} answered 429` },
  ],
  [
    'a Retry-After not understood falls back to the backoff and is not quoted',
    answer(503, { retryAfter: 'soon' }),
    { kind: 'retry', delayMs: 500, reason: `${url} answered 503` },
  ],
  // answers that fail
  [
    '500 on the last attempt fails, saying how many attempts were made',
    { ...answer(500, { bodyStart: 'down' }), attempt: 3, retryCount: 2 },
    {
      kind: 'fail',
      code: 'BRL_ERR_WEBHOOK_HTTP_STATUS',
      reason: `${url} answered 500: down (gave up after 3 attempts; retryCount: 2)`,
    },
  ],
  [
    '429 with retryCount 0 fails on the first attempt',
    { ...answer(429, { retryAfter: '1' }), retryCount: 0 },
    { kind: 'fail', code: 'BRL_ERR_WEBHOOK_HTTP_STATUS', reason: `${url} answered 429` },
  ],
  [
    '404 is not retried though retries are left',
    answer(404, { bodyStart: 'no such hook' }),
    { kind: 'fail', code: 'BRL_ERR_WEBHOOK_HTTP_STATUS', reason: `${url} answered 404: no such hook` },
  ],
  [
    '302 is not success',
    answer(302),
    { kind: 'fail', code: 'BRL_ERR_WEBHOOK_HTTP_STATUS', reason: `${url} answered 302` },
  ],
  [
    '400 after a retry names the attempts',
    { ...answer(400), attempt: 2 },
    {
      kind: 'fail',
      code: 'BRL_ERR_WEBHOOK_HTTP_STATUS',
      reason: `${url} answered 400 (gave up after 2 attempts; retryCount: 2)`,
    },
  ],
  [
    'the quoted body stops at 200 characters',
    answer(400, { bodyStart: `${'x'.repeat(200)}TAIL` }),
    { kind: 'fail', code: 'BRL_ERR_WEBHOOK_HTTP_STATUS', reason: `${url} answered 400: ${'x'.repeat(200)}` },
  ],
  // errors
  [
    'a retryable error with retries left retries after the backoff',
    { error: { ...unreachable, retryable: true }, attempt: 2 },
    { kind: 'retry', delayMs: 1_000, reason: unreachable.message },
  ],
  [
    'a retryable error on the last attempt fails with its code',
    { error: { ...unreachable, retryable: true }, attempt: 3 },
    {
      kind: 'fail',
      code: 'BRL_ERR_WEBHOOK_UNREACHABLE',
      reason: `${unreachable.message} (gave up after 3 attempts; retryCount: 2)`,
    },
  ],
  [
    'a non-retryable error fails at once with its code',
    { error: refused },
    { kind: 'fail', code: 'BRL_ERR_AGENT_REFUSED', reason: refused.message },
  ],
  [
    'an error not marked retryable is not retried',
    { error: unreachable },
    { kind: 'fail', code: 'BRL_ERR_WEBHOOK_UNREACHABLE', reason: unreachable.message },
  ],
  // stopped
  [
    'a call stopped in flight is left to whoever stopped it',
    { error: cancelledError, cancelled: true },
    { kind: 'stopped' },
  ],
  [
    'a stopped call is not retried even if its error was retryable',
    { error: { ...unreachable, retryable: true }, cancelled: true },
    { kind: 'stopped' },
  ],
  ['no answer and no error is stopped', {}, { kind: 'stopped' }],
];

describe('attemptOutcome', () => {
  it.each(rows)('%s', (_name, over, expected) => {
    expect(attemptOutcome(facts(over))).toEqual(expected);
  });
});
