import { describe, expect, it } from 'vitest';
import { promotionOf, recordPromotion } from './gc-promotion.ts';

const spaces = (oldUsed: number, largeUsed: number, newUsed: number) =>
  [
    {
      spaceName: 'new_space',
      spaceSize: 0,
      spaceUsedSize: newUsed,
      spaceAvailableSize: 0,
      physicalSpaceSize: 0,
    },
    {
      spaceName: 'old_space',
      spaceSize: 0,
      spaceUsedSize: oldUsed,
      spaceAvailableSize: 0,
      physicalSpaceSize: 0,
    },
    {
      spaceName: 'lo_space',
      spaceSize: 0,
      spaceUsedSize: largeUsed,
      spaceAvailableSize: 0,
      physicalSpaceSize: 0,
    },
  ] as const;
const gc = (
  gcType: string,
  before: ReturnType<typeof spaces>,
  after: ReturnType<typeof spaces>,
  cost = 1000,
) => ({
  gcType,
  cost,
  beforeGC: { heapStatistics: {} as never, heapSpaceStatistics: [...before] },
  afterGC: { heapStatistics: {} as never, heapSpaceStatistics: [...after] },
});

describe('promotionOf', () => {
  it("counts the old spaces' growth across scavenges only, and the mark-compacts", () => {
    const p = promotionOf([
      gc('Scavenge', spaces(100, 10, 50), spaces(130, 15, 5)),
      gc('MarkSweepCompact', spaces(145, 15, 5), spaces(60, 10, 0), 5000),
      gc('Scavenge', spaces(60, 10, 40), spaces(60, 10, 2)),
    ] as never);
    expect(p).toEqual({ scavenges: 2, bytes: 35, markCompacts: 1, gcMs: 7 });
  });
});

describe('recordPromotion', () => {
  it('sees objects that outlive scavenges promoted, and not garbage', () => {
    const promotion = recordPromotion();
    let garbage: unknown;
    const churn = () => {
      for (let i = 0; i < 2_000_000; i++) garbage = { i, label: `garbage-${i}` };
    };
    churn(); // the young generation grows to its working size first
    promotion.take();
    churn();
    const garbageOnly = promotion.take();

    const kept: { i: number; label: string }[] = [];
    for (let i = 0; i < 2_000_000; i++) {
      garbage = { i, label: `garbage-${i}` };
      if (i % 5 === 0) kept.push({ i, label: `kept-${i}` });
    }
    // Through as many scavenges again: the last ones kept leave the young generation too, however
    // large the machine's V8 sized it (with only the loop above, one CI machine promoted 7.5 MB).
    churn();
    const withKept = promotion.take();
    void garbage;
    expect(kept).toHaveLength(400_000);
    expect(withKept.scavenges).toBeGreaterThan(0);
    // 400 000 objects and their strings (~17 MB), each outliving several scavenges.
    expect(withKept.bytes).toBeGreaterThan(8_000_000);
    expect(garbageOnly.bytes).toBeLessThan(withKept.bytes / 4);
  });
});
