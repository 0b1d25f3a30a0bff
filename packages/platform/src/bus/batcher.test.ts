import { describe, expect, it } from 'vitest';
import { PublishBatcher, type PendingPublish } from './batcher.ts';

const msg = (key: string, size = 10) => ({ key, value: new Uint8Array(size) });

describe('PublishBatcher', () => {
  it('coalesces concurrent calls into one send, in call order', async () => {
    const sends: PendingPublish[][] = [];
    const batcher = new PublishBatcher(async (batch) => void sends.push([...batch]), {
      maxMessages: 1000,
      maxBytes: 1 << 20,
    });
    await Promise.all(Array.from({ length: 50 }, (_, i) => batcher.publish('t', [msg(`k${i}`)])));
    expect(sends).toHaveLength(1);
    expect(sends[0]!.map((e) => e.messages[0]!.key)).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}`));
  });

  it('fills the next batch while a send is in flight, one send at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const sizes: number[] = [];
    const batcher = new PublishBatcher(
      async (batch) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        sizes.push(batch.length);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
      },
      { maxMessages: 1000, maxBytes: 1 << 20 },
    );
    const first = batcher.publish('t', [msg('a')]);
    await new Promise((r) => setTimeout(r, 5));
    const rest = Array.from({ length: 30 }, (_, i) => batcher.publish('t', [msg(`b${i}`)]));
    await Promise.all([first, ...rest]);
    expect(maxInFlight).toBe(1);
    expect(sizes).toEqual([1, 30]);
  });

  it('respects the message and byte limits, but sends an oversized call alone', async () => {
    const sizes: number[] = [];
    const batcher = new PublishBatcher(
      async (batch) => void sizes.push(batch.reduce((n, e) => n + e.messages.length, 0)),
      { maxMessages: 10, maxBytes: 1 << 20 },
    );
    await Promise.all([
      batcher.publish(
        't',
        Array.from({ length: 6 }, (_, i) => msg(`a${i}`)),
      ),
      batcher.publish(
        't',
        Array.from({ length: 6 }, (_, i) => msg(`b${i}`)),
      ),
      batcher.publish(
        't',
        Array.from({ length: 25 }, (_, i) => msg(`c${i}`)),
      ),
    ]);
    expect(sizes).toEqual([6, 6, 25]);
  });

  it('rejects every call of a failed send and goes on with the next', async () => {
    let n = 0;
    const batcher = new PublishBatcher(
      async () => {
        if (n++ === 0) throw new Error('broker down');
      },
      { maxMessages: 100, maxBytes: 1 << 20 },
    );
    const failed = await Promise.allSettled([
      batcher.publish('t', [msg('a')]),
      batcher.publish('t', [msg('b')]),
    ]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(batcher.publish('t', [msg('c')])).resolves.toBeUndefined();
  });

  it('refuses calls after close, after flushing queued ones', async () => {
    const sent: string[] = [];
    const batcher = new PublishBatcher(
      async (batch) => void sent.push(...batch.map((e) => e.messages[0]!.key)),
      { maxMessages: 100, maxBytes: 1 << 20 },
    );
    const queued = batcher.publish('t', [msg('queued')]);
    await batcher.close();
    await queued;
    expect(sent).toEqual(['queued']);
    await expect(batcher.publish('t', [msg('late')])).rejects.toThrow(/after close/);
  });
});
