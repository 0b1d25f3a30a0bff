/**
 * Concurrent calls applied together, one application at a time: while one set is being applied,
 * the calls made meanwhile gather into the next (up to `maxItems` items a set; a call is never
 * split), so under load sets grow instead of transactions multiplying, and an idle caller's lone
 * call is applied at once. Each call gets its own slice of the results.
 *
 * When a merged set fails, `onFailure` says what its calls get: `'alone'` applies each of them
 * again by itself, so only the call at fault fails (a bus consumer, whose bus then splits that
 * call further); `'all'` fails every call of the set with the error (device transitions, where a
 * retry per call would be the very flood of transactions the merging exists to avoid).
 *
 * `lingerMs` holds a lone call that long before its set is applied, so that the calls arriving
 * meanwhile join it: for a steady stream of small calls whose round trip is short (one every
 * millisecond or two, each answered in one), without it every set would carry one or two calls.
 */
export interface CoalescingOptions {
  readonly onFailure: 'alone' | 'all';
  /** Most items a set: more calls wait for the next one. Default: no limit. */
  readonly maxItems?: number;
  /** How long the first call of an idle caller waits for others before its set is applied. Default 0. */
  readonly lingerMs?: number;
}

export function coalescing<T, R>(
  apply: (items: readonly T[]) => Promise<readonly R[]>,
  options: CoalescingOptions,
): (items: readonly T[]) => Promise<R[]> {
  interface Call {
    readonly items: readonly T[];
    resolve(results: R[]): void;
    reject(error: unknown): void;
  }
  const maxItems = options.maxItems ?? Number.POSITIVE_INFINITY;
  const lingerMs = options.lingerMs ?? 0;
  const waiting: Call[] = [];
  let draining = false;

  /** The calls of the next set: at least one, then as many as fit in `maxItems`. */
  function nextSet(): Call[] {
    let items = 0;
    let n = 0;
    while (n < waiting.length && (n === 0 || items + waiting[n]!.items.length <= maxItems)) {
      items += waiting[n]!.items.length;
      n++;
    }
    return waiting.splice(0, n);
  }

  async function applyAlone(call: Call): Promise<void> {
    try {
      call.resolve([...(await apply(call.items))]);
    } catch (error) {
      call.reject(error);
    }
  }

  async function drain(): Promise<void> {
    draining = true;
    while (waiting.length > 0) {
      const calls = nextSet();
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
      } catch (error) {
        if (options.onFailure === 'all') for (const call of calls) call.reject(error);
        else for (const call of calls) await applyAlone(call);
      }
    }
    draining = false;
  }

  return (items) => {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      waiting.push({ items, resolve, reject });
      if (draining) return;
      if (lingerMs > 0) {
        draining = true;
        setTimeout(() => void drain(), lingerMs);
      } else void drain();
    });
  };
}
