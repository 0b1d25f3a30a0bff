/**
 * Turns concurrent calls (one per partition batch in flight) into one application: while one
 * set is being applied the next one gathers, so a set is as large as the load makes it and an
 * idle consumer applies a lone partition batch at once. When a merged set fails, each call is
 * applied again alone, so only the call at fault fails (and the bus splits that one further).
 */
export function batching<T, R>(
  apply: (items: readonly T[]) => Promise<R[]>,
): (items: readonly T[]) => Promise<R[]> {
  interface Call {
    readonly items: readonly T[];
    resolve(results: R[]): void;
    reject(error: unknown): void;
  }
  let waiting: Call[] = [];
  let draining = false;
  async function applyAlone(call: Call): Promise<void> {
    try {
      call.resolve(await apply(call.items));
    } catch (error) {
      call.reject(error);
    }
  }
  async function drain(): Promise<void> {
    draining = true;
    while (waiting.length > 0) {
      const calls = waiting;
      waiting = [];
      if (calls.length === 1) {
        await applyAlone(calls[0]!);
        continue;
      }
      try {
        const results = await apply(calls.flatMap((call) => call.items));
        let at = 0;
        for (const call of calls) {
          call.resolve(results.slice(at, at + call.items.length));
          at += call.items.length;
        }
      } catch {
        for (const call of calls) await applyAlone(call);
      }
    }
    draining = false;
  }
  return (items) => {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      waiting.push({ items, resolve, reject });
      if (!draining) void drain();
    });
  };
}
