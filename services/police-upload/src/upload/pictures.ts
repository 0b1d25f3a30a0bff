/**
 * Pictures read when an object is enqueued rather than when it is sent. Live inflow is far below
 * what the object store serves, while the drain after an outage sends thousands of objects a
 * second: with the pictures in the outbox row, that drain is claim, POST and settle, without one
 * store read per object on the path it measures.
 *
 * Bounded per platform (`budgetBytes`): a long outage must not fill Postgres with pictures, so
 * beyond the budget rows keep only their keys and the senders read them as before. A picture that
 * cannot be read now (missing, the store failing) leaves its row to the senders too, which
 * handle it as they always have.
 */
import type { Logger } from '@anfang/platform/log';
import type { ObjectStore } from '@anfang/platform/objects';
import type { EnqueuedPictures, OutboxEntry } from '../store/outbox.ts';

/**
 * How long the outbox's picture bytes are trusted before they are read again. In between, this
 * replica adds what it enqueues itself, so only other replicas' enqueues of this long can go over
 * the budget.
 */
const HELD_BYTES_TTL_MS = 1_000;

export interface PictureReader {
  /** The entries, with their pictures where their platform's budget has room for them. */
  attach(entries: readonly OutboxEntry[]): Promise<OutboxEntry[]>;
}

export interface PictureReaderDeps {
  readonly images: Pick<ObjectStore, 'get'>;
  /** Bytes of pictures each platform's outbox holds now. */
  readonly held: () => Promise<Map<string, number>>;
  /** Bytes of pictures a platform's outbox may hold; 0: pictures are always read at send time. */
  readonly budgetBytes: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface Picture {
  readonly base64: string;
  readonly bytes: number;
}

export function createPictureReader(deps: PictureReaderDeps): PictureReader {
  const log = deps.logger.child({ component: 'pictures' });
  const now = deps.now ?? Date.now;
  let held: { bytes: Map<string, number>; readAt: number } | undefined;
  let reading: Promise<Map<string, number>> | undefined;

  const heldBytes = (): Promise<Map<string, number>> => {
    if (held && now() - held.readAt < HELD_BYTES_TTL_MS) return Promise.resolve(held.bytes);
    reading ??= deps
      .held()
      .then((bytes) => {
        held = { bytes, readAt: now() };
        return bytes;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };

  return {
    async attach(entries) {
      if (deps.budgetBytes === 0 || !entries.some((e) => e.object.images.length > 0)) return [...entries];
      const bytesOf = await heldBytes();
      const wanted = entries.filter(
        (e) => e.object.images.length > 0 && (bytesOf.get(e.platformId) ?? 0) < deps.budgetBytes,
      );
      let missing = 0;
      const failures: unknown[] = [];
      // One read per picture of an event: the objects built from it (a face and a person) and
      // every platform they go to share it.
      const reads = new Map<string, Promise<Picture | undefined>>();
      const read = (eventId: string, key: string): Promise<Picture | undefined> => {
        const id = `${eventId} ${key}`;
        let picture = reads.get(id);
        if (!picture) {
          picture = deps.images.get(key).then(
            (buffer) => ({ base64: buffer.toString('base64'), bytes: buffer.length }),
            (err: unknown) => {
              if ((err as Error).name === 'ObjectNotFoundError') missing += 1;
              else failures.push(err);
              return undefined;
            },
          );
          reads.set(id, picture);
        }
        return picture;
      };
      const pictures = await Promise.all(
        wanted.map((e) =>
          Promise.all(e.object.images.map((image) => read(e.object.sourceEventId, image.objectKey))),
        ),
      );
      const attached = new Map<OutboxEntry, EnqueuedPictures>();
      for (const [n, entry] of wanted.entries()) {
        const read = pictures[n]!;
        if (!read.every((p): p is Picture => p !== undefined)) continue;
        const bytes = read.reduce((sum, p) => sum + p.bytes, 0);
        const before = bytesOf.get(entry.platformId) ?? 0;
        if (before + bytes > deps.budgetBytes) continue;
        bytesOf.set(entry.platformId, before + bytes);
        attached.set(entry, { base64: read.map((p) => p.base64), bytes });
      }
      if (failures.length > 0)
        log.warn(
          { err: failures[0], failed: failures.length },
          'pictures not read at enqueue: read at send time',
        );
      if (missing > 0)
        log.debug({ missing }, 'pictures not in the store at enqueue: looked up again at send time');
      return entries.map((e) => {
        const p = attached.get(e);
        return p ? { ...e, pictures: p } : e;
      });
    },
  };
}
