/**
 * Flood control and arming: a chattering sensor or a burst from one zone merges into the open
 * alarm of the same zone and category while occurrences keep coming within the window; a
 * disarmed or bypassed zone records its triggers without raising anything.
 */

export type Arming = 'armed' | 'disarmed' | 'bypassed';

/**
 * What merges: the zone when the trigger has one (several sensors of one wall are one
 * incident), else the device (a door held open, a camera's analytics); and within a category,
 * the episode when it has one (a watchlist entry, a patrol round). The episode is appended as
 * the category's last dotted part — the keys open alarms were stored under when it was part of
 * the category, so they keep merging across the upgrade.
 */
export function floodKey(input: {
  readonly compoundId: string;
  readonly zoneId: string | undefined;
  readonly deviceId: string;
  readonly category: string;
  readonly episode?: string | undefined;
}): string {
  const where = input.zoneId ? `zone:${input.zoneId}` : `device:${input.deviceId}`;
  const what = input.episode ? `${input.category}.${input.episode}` : input.category;
  return `${input.compoundId}|${where}|${what}`;
}

/** The window runs from the latest occurrence, so a sensor chattering all night stays one alarm. */
export function mergesInto(lastOccurredAt: Date, occurredAt: Date, windowMs: number): boolean {
  return occurredAt.getTime() - lastOccurredAt.getTime() <= windowMs;
}

/** A disarm or bypass with an end arms the zone again at that end without anybody acting. */
export function effectiveArming(arming: Arming, until: Date | undefined, at: Date): Arming {
  if (arming !== 'armed' && until && until.getTime() <= at.getTime()) return 'armed';
  return arming;
}

/** Keeps the newest `limit` entries of a list that grows by appending, without repeats. */
export function appendBounded(list: readonly string[], added: readonly string[], limit: number): string[] {
  const merged = [...list.filter((item) => !added.includes(item)), ...added];
  return merged.slice(Math.max(0, merged.length - limit));
}
