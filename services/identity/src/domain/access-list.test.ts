import { describe, expect, it } from 'vitest';
import { entryContent, mergeGrants, planListUpdate, type HeldList, type ListEntry } from './access-list.ts';

const day = (d: number) => new Date(Date.UTC(2026, 11, d));
const card = (id: string, over: Partial<ListEntry> = {}): ListEntry => ({
  credentialId: id,
  personId: `p-${id}`,
  kind: 'card',
  value: `CARD${id}`,
  faceImageKey: undefined,
  validFrom: undefined,
  validTo: undefined,
  ...over,
});
const print = (e: ListEntry) => entryContent(e);
const held = (entries: ListEntry[], version = 3, needsFull = false): HeldList => ({
  version,
  needsFull,
  fingerprints: new Map(entries.map((e) => [e.credentialId, print(e)])),
});

describe('offline allow lists', () => {
  it('merges the grants of one credential into the window from the earliest start to the latest end', () => {
    const merged = mergeGrants([
      card('a', { validFrom: day(5), validTo: day(10) }),
      card('a', { validFrom: day(1), validTo: day(7) }),
      card('b', { validFrom: day(1), validTo: day(7) }),
      card('b', { validFrom: day(3), validTo: undefined }),
    ]);
    expect(merged).toEqual([
      card('a', { validFrom: day(1), validTo: day(10) }),
      card('b', { validFrom: day(1), validTo: undefined }),
    ]);
  });

  it('sends nothing when the reader holds what it should', () => {
    const entries = [card('a'), card('b')];
    const plan = planListUpdate(entries, held(entries), print, 100);
    expect(plan.chunks).toEqual([]);
    expect(plan.version).toBe(3);
  });

  it('sends only what changed: added, changed and removed entries, one version each command', () => {
    const before = [card('a'), card('b'), card('c')];
    const after = [card('a'), card('b', { validTo: day(20) }), card('d')];
    const plan = planListUpdate(after, held(before), print, 100);
    expect(plan.chunks).toEqual([
      { version: 4, fullReplace: false, upserts: [], removals: ['c'] },
      { version: 5, fullReplace: false, upserts: [after[1], after[2]], removals: [] },
    ]);
    expect([...plan.fingerprints.keys()].sort()).toEqual(['a', 'b', 'd']);
    expect(plan.version).toBe(5);
  });

  it('gives a new reader the whole list, in commands of at most the chunk size', () => {
    const entries = ['a', 'b', 'c', 'd', 'e'].map((id) => card(id));
    const plan = planListUpdate(entries, { version: 0, needsFull: true, fingerprints: new Map() }, print, 2);
    expect(plan.chunks.map((c) => [c.version, c.fullReplace, c.upserts.length])).toEqual([
      [1, true, 2],
      [2, false, 2],
      [3, false, 1],
    ]);
  });

  it('clears a reader that should hold nothing with one full replace', () => {
    const plan = planListUpdate([], held([card('a')], 7, true), print, 10);
    expect(plan.chunks).toEqual([{ version: 8, fullReplace: true, upserts: [], removals: [] }]);
  });
});
