import { describe, expect, it } from 'vitest';
import { barLayout, clampRate, stackLayout } from './charts.ts';

describe('rate bars', () => {
  it('scale the rate to the plot and place the target tick', () => {
    const [bar] = barLayout([{ label: '车站', rate: 0.5, target: 0.8 }], 400);
    expect(bar).toEqual({ y: 0, width: 200, targetX: 320, meetsTarget: false });
  });

  it('meet a target they reach exactly, and any bar without a target', () => {
    const bars = barLayout(
      [
        { label: 'a', rate: 0.9, target: 0.9 },
        { label: 'b', rate: 0.1 },
      ],
      100,
    );
    expect(bars.map((b) => b.meetsTarget)).toEqual([true, true]);
    expect(bars[1]).not.toHaveProperty('targetX');
    expect(bars[1]!.y).toBeGreaterThan(bars[0]!.y);
  });

  it('clamp rates outside [0, 1] and treat NaN as 0', () => {
    expect(clampRate(1.7)).toBe(1);
    expect(clampRate(-0.2)).toBe(0);
    expect(clampRate(Number.NaN)).toBe(0);
  });
});

describe('level stack', () => {
  it('splits the width by count, in order', () => {
    expect(stackLayout([1, 3, 0], 400)).toEqual([
      { x: 0, width: 100 },
      { x: 100, width: 300 },
      { x: 400, width: 0 },
    ]);
  });

  it('draws nothing for no compounds', () => {
    expect(stackLayout([0, 0], 400).every((s) => s.width === 0)).toBe(true);
  });
});
