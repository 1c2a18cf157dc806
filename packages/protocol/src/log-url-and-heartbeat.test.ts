import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeFrame, encodeFrame } from './codec.js';
import { CloseCodes, type ProtocolError } from './errors.js';
import { AgentFeatures, parseAgentFeatures } from './handshake.js';
import { HeartbeatDefaults, heartbeatDetectionBoundMs, heartbeatTimeoutMs } from './heartbeat.js';
import { Tunnel, type TunnelCloseInfo } from './tunnel.js';

/** Protocol parts of issue 10: the OPEN frame's optional loggable path, and heartbeat defaults. */
const raw = new Packr({ useRecords: false });

describe('OPEN frame: the optional loggable path', () => {
  it('round-trips with a logUrl, and without one is the 6-field frame agents released before it decode', () => {
    const head = {
      type: 'open',
      stream: 1,
      method: 'GET',
      url: 'http://h/a/s3cret?t=1',
      headers: [],
      timeoutMs: 0,
    } as const;
    expect(decodeFrame(encodeFrame({ ...head, logUrl: '/a/****' }))).toEqual({
      ...head,
      logUrl: '/a/****',
    });
    const plain = encodeFrame(head);
    expect((raw.unpack(plain) as unknown[]).length).toBe(6);
    expect(decodeFrame(plain)).toEqual(head);
    expect(decodeFrame(raw.pack([1, 1, 'GET', '/', [], 0]))).not.toHaveProperty('logUrl');
  });

  it('refuses a logUrl that is not a string, and an 8th field', () => {
    for (const bytes of [
      raw.pack([1, 1, 'GET', '/', [], 0, 7]),
      raw.pack([1, 1, 'GET', '/', [], 0, '/', 'x']),
    ]) {
      let code = 'decoded';
      try {
        decodeFrame(bytes);
      } catch (err) {
        code = (err as ProtocolError).code;
      }
      expect(code).toBe('BRL_PROTO_MALFORMED_FRAME');
    }
  });

  it('features: known ones only', () => {
    expect([...parseAgentFeatures(`${AgentFeatures.logUrl}, future-thing`)]).toEqual(['log-url']);
    expect(parseAgentFeatures(undefined).size).toBe(0);
  });

  it('the revoked close code is ours and distinct', () => {
    const codes = Object.values(CloseCodes);
    expect(new Set(codes).size).toBe(codes.length);
    expect(CloseCodes.credentialRevoked).toBeGreaterThanOrEqual(4000);
  });
});

describe('heartbeat defaults', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('notice a frozen peer within 10 s', () => {
    const interval = HeartbeatDefaults.intervalMs;
    expect(heartbeatTimeoutMs(interval)).toBe(interval * HeartbeatDefaults.missedIntervals);
    expect(heartbeatDetectionBoundMs(interval)).toBeLessThanOrEqual(10_000);
    // A peer is allowed to miss more than one ping before it is judged dead.
    expect(HeartbeatDefaults.missedIntervals).toBeGreaterThanOrEqual(2);
  });

  it('a tunnel with the defaults closes on a silent peer by the bound, not before the timeout', () => {
    vi.useFakeTimers();
    const closes: TunnelCloseInfo[] = [];
    const t = new Tunnel({
      role: 'requester',
      sink: { send: () => {}, close: () => {} },
      onClose: (i) => closes.push(i),
    });
    vi.advanceTimersByTime(heartbeatTimeoutMs(HeartbeatDefaults.intervalMs) - 1);
    expect(closes).toHaveLength(0);
    vi.advanceTimersByTime(
      heartbeatDetectionBoundMs(HeartbeatDefaults.intervalMs) -
        heartbeatTimeoutMs(HeartbeatDefaults.intervalMs) +
        1,
    );
    expect(closes).toHaveLength(1);
    expect(closes[0]?.error?.code).toBe('BRL_PROTO_HEARTBEAT_TIMEOUT');
    expect(t.closed).toBe(true);
  });

  it('a stall of this side is not blamed on the peer: the verdict waits for the frames it had not read', () => {
    vi.useFakeTimers();
    const interval = HeartbeatDefaults.intervalMs;
    const closes: TunnelCloseInfo[] = [];
    const t = new Tunnel({
      role: 'requester',
      sink: { send: () => {}, close: () => {} },
      onClose: (i) => closes.push(i),
    });
    const pong = () => t.receive(encodeFrame({ type: 'pong', stream: 0, nonce: 1 }));
    pong();
    vi.advanceTimersByTime(interval);
    // This process blocks for longer than the timeout (the clock jumps, no timer runs meanwhile).
    vi.setSystemTime(Date.now() + heartbeatTimeoutMs(interval) + interval);
    vi.advanceTimersByTime(interval);
    expect(closes).toHaveLength(0);
    // The peer's frame that waited in the socket is read after the late tick; the peer lives on.
    pong();
    vi.advanceTimersByTime(interval);
    expect(closes).toHaveLength(0);
    // A peer that really went silent is still judged, on time ticks.
    vi.advanceTimersByTime(heartbeatDetectionBoundMs(interval));
    expect(closes).toHaveLength(1);
    expect(closes[0]?.error?.code).toBe('BRL_PROTO_HEARTBEAT_TIMEOUT');
  });
});
