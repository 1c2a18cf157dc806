import { heartbeatDetectionBoundMs, heartbeatTimeoutMs } from '@borealis/protocol';
import { describe, expect, it } from 'vitest';
import { compileOptions, optionsFromEnv } from './control-plane-options.js';

describe('the control plane heartbeat defaults', () => {
  it('notice a frozen agent within 10 s, the relay dropping it after 3 silent intervals', () => {
    const { heartbeatIntervalMs } = compileOptions(optionsFromEnv({}));
    expect(heartbeatDetectionBoundMs(heartbeatIntervalMs)).toBeLessThanOrEqual(10_000);
    expect(heartbeatTimeoutMs(heartbeatIntervalMs)).toBe(3 * heartbeatIntervalMs);
    // An empty variable is unset, not zero.
    expect(compileOptions(optionsFromEnv({ BOREALIS_HEARTBEAT_INTERVAL: '' })).heartbeatIntervalMs).toBe(
      heartbeatIntervalMs,
    );
  });
});
