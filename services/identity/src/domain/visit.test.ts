import { describe, expect, it } from 'vitest';
import { pathReachesDestination, visitPath, type PathDoor } from './visit.ts';

const doors: PathDoor[] = [
  { doorId: 'east-gate', kind: 'compound_gate', addressCode: '370303001001007' },
  { doorId: 'car-park', kind: 'car_park', addressCode: '370303001001007' },
  { doorId: 'b3-u2', kind: 'unit_door', addressCode: '37030300100100700302' },
  { doorId: 'b3-u1', kind: 'unit_door', addressCode: '37030300100100700301' },
  { doorId: 'b5', kind: 'unit_door', addressCode: '370303001001007005' },
];

describe('visitPath', () => {
  it('is the gates and the unit door of the destination, nothing else', () => {
    expect(visitPath(doors, '370303001001007003020501')).toEqual(['east-gate', 'b3-u2']);
    expect(visitPath(doors, '370303001001007005010101')).toEqual(['east-gate', 'b5']);
  });

  it('knows when no unit door leads there', () => {
    const path = visitPath(doors, '370303001001007009010101');
    expect(path).toEqual(['east-gate']);
    expect(pathReachesDestination(doors, path)).toBe(false);
  });
});
