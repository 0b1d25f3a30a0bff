/**
 * Group commit for the index: the consumer's concurrent handlers (one per partition) each add
 * their event's rows and wait; whatever has gathered while the previous write ran goes in the
 * next one, up to `maxRows`. Under load writes grow to many events each; an idle writer writes
 * at once (after `lingerMs`). A handler resolves only when its rows are committed, so an offset is
 * never committed ahead of its index rows, and a failed write fails every handler in it (retry).
 */
import type { MediaRow } from '../domain/sources.ts';

interface Pending {
  readonly rows: readonly MediaRow[];
  resolve(): void;
  reject(error: unknown): void;
}

export interface IndexWriter {
  add(rows: readonly MediaRow[]): Promise<void>;
  /** Waits for what is queued. */
  close(): Promise<void>;
}

export function createIndexWriter(
  write: (rows: readonly MediaRow[]) => Promise<unknown>,
  options: { readonly maxRows: number; readonly lingerMs: number },
): IndexWriter {
  let queue: Pending[] = [];
  let running: Promise<void> | undefined;

  const takeBatch = (): Pending[] => {
    let rows = 0;
    let n = 0;
    // At least one entry, however large: an event's rows are never split across writes.
    while (n < queue.length && (n === 0 || rows + queue[n]!.rows.length <= options.maxRows))
      rows += queue[n++]!.rows.length;
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    return batch;
  };

  const drain = async (): Promise<void> => {
    if (options.lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, options.lingerMs));
    while (queue.length > 0) {
      const batch = takeBatch();
      try {
        await write(batch.flatMap((p) => p.rows));
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  };

  const kick = () => {
    running ??= drain().finally(() => {
      running = undefined;
      if (queue.length > 0) kick();
    });
  };

  return {
    add(rows) {
      if (rows.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ rows, resolve, reject });
        kick();
      });
    },
    async close() {
      while (running) await running;
    },
  };
}
