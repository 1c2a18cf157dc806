import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { serializeError } from './logger.js';

describe('the agent log serializer', () => {
  it('keeps the message of error-like objects (a failed redial logged [object Object])', () => {
    expect(serializeError({ message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' })).toEqual({
      message: 'connect ECONNREFUSED 127.0.0.1:1',
      code: 'ECONNREFUSED',
    });
    // ws hands out ErrorEvent-like objects carrying the Error.
    const inner = new Error('socket hang up');
    expect(serializeError({ type: 'error', error: inner, message: 'socket hang up' })).toMatchObject({
      type: 'Error',
      message: 'socket hang up',
    });
    expect(serializeError('plain')).toEqual({ message: 'plain' });
  });

  it('as pino uses it: no "[object Object]" in the line', () => {
    const lines: string[] = [];
    const out = new Writable({
      write(chunk, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    pino({ serializers: { err: serializeError } }, out).warn(
      { err: { message: 'getaddrinfo ENOTFOUND cp.invalid', code: 'ENOTFOUND' } },
      'connection failed',
    );
    expect(lines.join('')).toContain('getaddrinfo ENOTFOUND cp.invalid');
    expect(lines.join('')).not.toContain('[object Object]');
  });
});
