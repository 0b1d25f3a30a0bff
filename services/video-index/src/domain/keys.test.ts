import { describe, expect, it } from 'vitest';
import { byteOrder, captureKeyFacts } from './keys.ts';

describe('captureKeyFacts', () => {
  it('reads compound, day, device and event from a capture key', () => {
    expect(captureKeyFacts('captures/370303001001001/2026-10-01/cam-1/evt-7-0.jpg')).toEqual({
      compoundId: '370303001001001',
      capturedOn: new Date('2026-10-01T00:00:00Z'),
      deviceId: 'cam-1',
      eventId: 'evt-7',
    });
  });
  it('says nothing about other keys', () => {
    expect(captureKeyFacts('captures/x/2026-02-30/cam/e-0.jpg')).toBeUndefined();
    expect(captureKeyFacts('quarantine/2026-10-01/abc')).toBeUndefined();
  });
});

describe('byteOrder', () => {
  it('orders as UTF-8 bytes, like object stores list', () => {
    expect(byteOrder('a/b', 'a0')).toBeLessThan(0);
    expect(byteOrder('\uffff', '\u{10000}')).toBeLessThan(0);
  });
});
