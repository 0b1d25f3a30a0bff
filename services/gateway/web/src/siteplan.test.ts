import { describe, expect, it } from 'vitest';
import { clampPosition, defaultPosition, kindOfDevice, layoutMarkers } from './siteplan.ts';

describe('site plan layout', () => {
  it('uses the stored position of a marker and the default for the rest', () => {
    const markers = layoutMarkers(
      [
        { kind: 'building', refId: '370303001001001001', label: '1号楼' },
        { kind: 'camera', refId: 'cam-1', label: '东门' },
      ],
      [{ kind: 'camera', refId: 'cam-1', x: 0.25, y: 0.75 }],
    );
    expect(markers[1]).toMatchObject({ x: 0.25, y: 0.75, placed: true, status: 'unknown' });
    expect(markers[0]!.placed).toBe(false);
  });

  it('ignores stored positions of things that are gone and clamps stored values into the plan', () => {
    const markers = layoutMarkers(
      [{ kind: 'gate', refId: 'g1', label: 'g' }],
      [
        { kind: 'gate', refId: 'gone', x: 0.1, y: 0.1 },
        { kind: 'gate', refId: 'g1', x: 1.4, y: -3 },
      ],
    );
    expect(markers).toHaveLength(1);
    expect(markers[0]).toMatchObject({ x: 1, y: 0 });
  });

  it('places unplaced markers of a kind apart from each other and inside the plan', () => {
    for (const kind of [
      'building',
      'perimeter_zone',
      'gate',
      'barrier',
      'unit_door',
      'camera',
      'device',
    ] as const) {
      const count = 9;
      const points = Array.from({ length: count }, (_, i) => defaultPosition(kind, i, count));
      const distinct = new Set(points.map((p) => `${p.x.toFixed(4)},${p.y.toFixed(4)}`));
      expect(distinct.size, kind).toBe(count);
      for (const p of points) {
        expect(p.x).toBeGreaterThanOrEqual(0);
        expect(p.x).toBeLessThanOrEqual(1);
        expect(p.y).toBeGreaterThanOrEqual(0);
        expect(p.y).toBeLessThanOrEqual(1);
      }
    }
  });

  it('maps device types to plan markers', () => {
    expect(kindOfDevice('DEVICE_TYPE_PLATE_CAMERA')).toBe('barrier');
    expect(kindOfDevice('DEVICE_TYPE_UNIT_DOOR_TERMINAL')).toBe('unit_door');
    expect(kindOfDevice('DEVICE_TYPE_IOT_SENSOR')).toBe('device');
    expect(kindOfDevice(undefined)).toBe('device');
  });

  it('keeps a dragged position inside the plan', () => {
    expect(clampPosition(-1, 2)).toEqual({ x: 0, y: 1 });
    expect(clampPosition(Number.NaN, 0.3)).toEqual({ x: 0.5, y: 0.3 });
  });
});
