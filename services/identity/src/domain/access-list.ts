/**
 * Offline allow lists (issue 4, item 9): what a reader may let in while it cannot reach the
 * platform, and the smallest update that brings the list a reader holds to what it should hold.
 *
 * What goes in: every card, NFC and face credential of a person with a grant on a door group
 * that contains the reader's door, valid now or later. The entry's validity is the credential's
 * window within the grant's; several grants on one reader merge into the window from the
 * earliest start to the latest end (a reader holds one entry per credential). Left out, so the
 * reader asks the platform: grants with a weekly schedule (entries carry no schedule), PINs
 * (only their hash exists), QR codes (short-lived by design), ID cards (the ID number stays in
 * the platform), visitor passes (short windows, decided online).
 */
export type ListedKind = 'card' | 'nfc' | 'face';

export interface ListEntry {
  readonly credentialId: string;
  readonly personId: string;
  readonly kind: ListedKind;
  /** Card or NFC number as readers read it; the face template id for faces. */
  readonly value: string;
  readonly faceImageKey: string | undefined;
  readonly validFrom: Date | undefined;
  /** Undefined: open-ended. */
  readonly validTo: Date | undefined;
}

/** What the platform last sent a reader. */
export interface HeldList {
  readonly version: number;
  /** A new reader, or one whose updates were lost: it gets the whole list. */
  readonly needsFull: boolean;
  /** Credential id → fingerprint of the entry as sent. */
  readonly fingerprints: ReadonlyMap<string, string>;
}

export interface ListChunk {
  readonly version: number;
  readonly fullReplace: boolean;
  readonly upserts: readonly ListEntry[];
  /** Credential ids to remove. */
  readonly removals: readonly string[];
}

export interface ListPlan {
  readonly chunks: readonly ListChunk[];
  /** The fingerprints the reader holds once every chunk is applied. */
  readonly fingerprints: ReadonlyMap<string, string>;
  readonly version: number;
}

/** One entry per credential: the rows (one per grant reaching the reader) merge into one window. */
export function mergeGrants(rows: readonly ListEntry[]): ListEntry[] {
  const merged = new Map<string, ListEntry>();
  for (const row of rows) {
    const seen = merged.get(row.credentialId);
    if (!seen) {
      merged.set(row.credentialId, row);
      continue;
    }
    const validFrom =
      seen.validFrom && row.validFrom
        ? new Date(Math.min(seen.validFrom.getTime(), row.validFrom.getTime()))
        : undefined;
    const validTo =
      seen.validTo && row.validTo
        ? new Date(Math.max(seen.validTo.getTime(), row.validTo.getTime()))
        : undefined;
    merged.set(row.credentialId, { ...seen, validFrom, validTo });
  }
  return [...merged.values()].sort((a, b) => a.credentialId.localeCompare(b.credentialId));
}

/** The entry's content in a canonical form, for its fingerprint. */
export function entryContent(entry: ListEntry): string {
  return JSON.stringify([
    entry.personId,
    entry.kind,
    entry.value,
    entry.faceImageKey ?? '',
    entry.validFrom?.toISOString() ?? '',
    entry.validTo?.toISOString() ?? '',
  ]);
}

/**
 * The commands that bring `held` to `desired`: nothing when they agree; otherwise incremental
 * changes, or the whole list when the reader needs it; at most `maxEntries` entries per command,
 * each command one version further.
 */
export function planListUpdate(
  desired: readonly ListEntry[],
  held: HeldList,
  fingerprint: (entry: ListEntry) => string,
  maxEntries: number,
): ListPlan {
  const next = new Map<string, string>();
  const changed: ListEntry[] = [];
  for (const entry of desired) {
    const print = fingerprint(entry);
    next.set(entry.credentialId, print);
    if (held.needsFull || held.fingerprints.get(entry.credentialId) !== print) changed.push(entry);
  }
  const removals = held.needsFull ? [] : [...held.fingerprints.keys()].filter((id) => !next.has(id)).sort();
  if (!held.needsFull && changed.length === 0 && removals.length === 0)
    return { chunks: [], fingerprints: held.fingerprints, version: held.version };

  const chunks: ListChunk[] = [];
  let version = held.version;
  // Removals first: a reader short of room frees it before it is asked to add.
  for (let i = 0; i < removals.length; i += maxEntries)
    chunks.push({
      version: ++version,
      fullReplace: false,
      upserts: [],
      removals: removals.slice(i, i + maxEntries),
    });
  for (let i = 0; i < changed.length || (held.needsFull && i === 0); i += maxEntries)
    chunks.push({
      version: ++version,
      fullReplace: held.needsFull && i === 0,
      upserts: changed.slice(i, i + maxEntries),
      removals: [],
    });
  return { chunks, fingerprints: next, version };
}
