/**
 * Turns concurrent calls (one per partition in flight) into batches: while one batch is being
 * applied the next one gathers, so a batch is as large as the load makes it and an idle
 * consumer applies a lone trigger at once. A batch that fails is applied again one by one, so
 * only the trigger at fault fails (and goes to retry or the DLQ through the bus).
 */
export function batching<T, R>(apply: (items: readonly T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let waiting: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  let draining = false;
  async function applyAlone(entry: (typeof waiting)[number]): Promise<void> {
    try {
      entry.resolve((await apply([entry.item]))[0]!);
    } catch (error) {
      entry.reject(error);
    }
  }
  async function drain(): Promise<void> {
    draining = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        const results = await apply(batch.map((entry) => entry.item));
        batch.forEach((entry, n) => entry.resolve(results[n]!));
      } catch (error) {
        if (batch.length === 1) batch[0]!.reject(error);
        else for (const entry of batch) await applyAlone(entry);
      }
    }
    draining = false;
  }
  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!draining) void drain();
    });
}
