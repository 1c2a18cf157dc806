import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signStandardWebhook } from './signing.js';

describe('Standard Webhooks signature', () => {
  it('reproduces the published test vector exactly (what receivers verify with their libraries)', () => {
    expect(
      signStandardWebhook(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('takes the secret with or without the whsec_ prefix', () => {
    const id = 'msg_1';
    expect(signStandardWebhook('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id, 1, '{}')).toBe(
      signStandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id, 1, '{}'),
    );
  });

  it('signs id, timestamp and body together: changing any one changes the signature', () => {
    const s = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const base = signStandardWebhook(s, 'a', 1, 'body');
    expect(signStandardWebhook(s, 'b', 1, 'body')).not.toBe(base);
    expect(signStandardWebhook(s, 'a', 2, 'body')).not.toBe(base);
    expect(signStandardWebhook(s, 'a', 1, 'bodY')).not.toBe(base);
    const key = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
    expect(base).toBe(`v1,${createHmac('sha256', key).update('a.1.body').digest('base64')}`);
  });
});
