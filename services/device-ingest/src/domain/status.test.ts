import { describe, expect, it } from 'vitest';
import { offlineCutoff, onSeen, onTimeoutCheck, silenceTimeoutMs, statusAt } from './status.ts';

const policy = { heartbeatIntervalMs: 30_000, allowedMisses: 3 };
const t = (ms: number) => new Date(1_000_000_000 + ms);

describe('device status', () => {
  it('timeout is interval × misses', () => {
    expect(silenceTimeoutMs(policy)).toBe(90_000);
    expect(offlineCutoff(t(90_000), policy)).toEqual(t(0));
  });

  it('never seen is offline; online until the silence reaches the timeout', () => {
    expect(statusAt(undefined, t(0), policy)).toBe('offline');
    expect(statusAt(t(0), t(89_999), policy)).toBe('online');
    expect(statusAt(t(0), t(90_000), policy)).toBe('offline');
  });

  it('seen: online with the reason, unless already online', () => {
    expect(onSeen(undefined, true)).toEqual({ previous: undefined, status: 'online', reason: 'heartbeat' });
    expect(onSeen('offline', false)).toEqual({ previous: 'offline', status: 'online', reason: 'traffic' });
    expect(onSeen('online', true)).toBeUndefined();
  });

  it('timeout: only an online device silent past the cutoff goes offline', () => {
    expect(onTimeoutCheck('online', t(0), t(90_000), policy)).toEqual({
      previous: 'online',
      status: 'offline',
      reason: 'heartbeat-timeout',
    });
    expect(onTimeoutCheck('online', t(1), t(90_000), policy)).toBeUndefined();
    expect(onTimeoutCheck('offline', t(0), t(900_000), policy)).toBeUndefined();
    expect(onTimeoutCheck(undefined, undefined, t(900_000), policy)).toBeUndefined();
  });
});
