import { describe, expect, it } from 'vitest';
import { appendBounded, effectiveArming, floodKey, mergesInto } from './flood.ts';

const at = (seconds: number) => new Date(Date.UTC(2026, 10, 28, 2) + seconds * 1000);

describe('floodKey', () => {
  it('merges by zone when there is one, so two sensors of one wall are one alarm', () => {
    const a = floodKey({ compoundId: 'c', zoneId: 'z', deviceId: 'd1', category: 'perimeter.infrared' });
    const b = floodKey({ compoundId: 'c', zoneId: 'z', deviceId: 'd2', category: 'perimeter.infrared' });
    expect(a).toBe(b);
    expect(
      floodKey({ compoundId: 'c', zoneId: 'z', deviceId: 'd1', category: 'perimeter.microwave' }),
    ).not.toBe(a);
  });

  it('merges by device without a zone', () => {
    const a = floodKey({
      compoundId: 'c',
      zoneId: undefined,
      deviceId: 'd1',
      category: 'access.door_held_open',
    });
    const b = floodKey({
      compoundId: 'c',
      zoneId: undefined,
      deviceId: 'd2',
      category: 'access.door_held_open',
    });
    expect(a).not.toBe(b);
  });

  it('keeps episodes of one category apart (two listed people at one gate), under the keys stored before', () => {
    const entry = (episode: string) =>
      floodKey({
        compoundId: 'c',
        zoneId: undefined,
        deviceId: 'gate',
        category: 'watchlist.person',
        episode,
      });
    expect(entry('entry-9')).not.toBe(entry('entry-10'));
    // Open alarms were stored with the entry as the category's last part: they still merge.
    expect(entry('entry-9')).toBe(
      floodKey({
        compoundId: 'c',
        zoneId: undefined,
        deviceId: 'gate',
        category: 'watchlist.person.entry-9',
      }),
    );
  });
});

describe('mergesInto', () => {
  it('counts the window from the latest occurrence', () => {
    expect(mergesInto(at(0), at(300), 300_000)).toBe(true);
    expect(mergesInto(at(0), at(301), 300_000)).toBe(false);
    // An event that arrives late (older than the latest) still belongs to the burst.
    expect(mergesInto(at(100), at(50), 300_000)).toBe(true);
  });
});

describe('effectiveArming', () => {
  it('arms a bypassed zone again when the bypass ends', () => {
    expect(effectiveArming('bypassed', at(60), at(59))).toBe('bypassed');
    expect(effectiveArming('bypassed', at(60), at(60))).toBe('armed');
    expect(effectiveArming('disarmed', undefined, at(1e6))).toBe('disarmed');
  });
});

describe('appendBounded', () => {
  it('keeps the newest entries without repeats', () => {
    expect(appendBounded(['a', 'b', 'c'], ['b', 'd'], 3)).toEqual(['c', 'b', 'd']);
  });
});
