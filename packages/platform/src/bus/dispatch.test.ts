import { describe, expect, it } from 'vitest';
import { backoffMs, createDispatcher, describeError, type RawMessage } from './dispatch.ts';
import { createBusMetrics } from './metrics.ts';
import { HEADER, PermanentError, type MessageHandler, type OutgoingMessage } from './types.ts';

const policy = { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 150 };
const logger = { info() {}, warn() {}, error() {} };

function setup(handler: MessageHandler, topics: string[] = ['t', 't.retry', 't.dlq']) {
  const published: { topic: string; messages: readonly OutgoingMessage[] }[] = [];
  const abort = new AbortController();
  const dispatcher = createDispatcher({
    group: 'g',
    handler,
    policy,
    logger,
    metrics: createBusMetrics('embedded'),
    publish: async (topic, messages) => void published.push({ topic, messages }),
    retryTopics: new Set(topics.includes('t.retry') ? ['t.retry'] : []),
    topicExists: (t) => topics.includes(t),
    signal: abort.signal,
  });
  return { dispatcher, published, abort };
}

const raw = (over: Partial<RawMessage> = {}): RawMessage => ({
  topic: 't',
  partition: 1,
  offset: '42',
  key: 'k',
  value: new Uint8Array([1]),
  headers: { 'x-a': 'b' },
  timestamp: 1,
  ...over,
});

describe('dispatch', () => {
  it('backs off exponentially up to the maximum', () => {
    expect(
      [1, 2, 3, 4].map((a) => backoffMs({ maxAttempts: 9, initialBackoffMs: 100, maxBackoffMs: 500 }, a)),
    ).toEqual([100, 200, 400, 500]);
  });

  it('sends a failed message to <topic>.retry with attempt, not-before, group and source', async () => {
    const { dispatcher, published } = setup(async () => {
      throw new Error('boom');
    });
    const before = Date.now();
    expect(await dispatcher.handle(raw())).toEqual({ kind: 'done' });
    expect(published).toHaveLength(1);
    const [{ topic, messages }] = published as [{ topic: string; messages: OutgoingMessage[] }];
    expect(topic).toBe('t.retry');
    const h = messages[0]!.headers!;
    expect(h[HEADER.retryAttempt]).toBe('2');
    expect(Number(h[HEADER.retryNotBefore])).toBeGreaterThanOrEqual(before + 100);
    expect(h[HEADER.retryGroup]).toBe('g');
    expect(h[HEADER.retryReason]).toBe('Error: boom');
    expect(h[HEADER.dlqSourceTopic]).toBe('t');
    expect(h[HEADER.dlqSourcePartition]).toBe('1');
    expect(h[HEADER.dlqSourceOffset]).toBe('42');
    expect(h['x-a']).toBe('b');
    expect(messages[0]!.key).toBe('k');
  });

  it('waits for a retried message whose time has not come, skips other groups, and DLQs after the last attempt', async () => {
    const seen: string[] = [];
    const { dispatcher, published } = setup(async (m) => {
      seen.push(m.topic);
      throw new Error('still');
    });
    const future = Date.now() + 10_000;
    const waiting = await dispatcher.handle(
      raw({
        topic: 't.retry',
        headers: {
          [HEADER.retryGroup]: 'g',
          [HEADER.retryAttempt]: '3',
          [HEADER.retryNotBefore]: String(future),
        },
      }),
    );
    expect(waiting).toEqual({ kind: 'wait', until: future });
    expect(
      await dispatcher.handle(
        raw({ topic: 't.retry', headers: { [HEADER.retryGroup]: 'other', [HEADER.retryAttempt]: '2' } }),
      ),
    ).toEqual({ kind: 'done' });
    expect(seen).toEqual([]);
    await dispatcher.handle(
      raw({
        topic: 't.retry',
        offset: '7',
        headers: {
          [HEADER.retryGroup]: 'g',
          [HEADER.retryAttempt]: '3',
          [HEADER.retryNotBefore]: '0',
          [HEADER.dlqSourceTopic]: 't',
          [HEADER.dlqSourcePartition]: '1',
          [HEADER.dlqSourceOffset]: '42',
        },
      }),
    );
    expect(seen).toEqual(['t']);
    expect(published[0]!.topic).toBe('t.dlq');
    const h = published[0]!.messages[0]!.headers!;
    expect(h[HEADER.dlqReason]).toBe('exhausted after 3 attempts: Error: still');
    expect(h[HEADER.dlqSourceOffset]).toBe('42');
    expect(h[HEADER.dlqConsumerGroup]).toBe('g');
    expect(h[HEADER.retryNotBefore]).toBeUndefined();
  });

  it('sends a PermanentError to the DLQ at once', async () => {
    const { dispatcher, published } = setup(async () => {
      throw new PermanentError('bad input');
    });
    await dispatcher.handle(raw());
    expect(published.map((p) => p.topic)).toEqual(['t.dlq']);
    expect(published[0]!.messages[0]!.headers![HEADER.dlqReason]).toBe(
      'permanent: PermanentError: bad input',
    );
  });

  it('retries in place when the topic has no retry companion, and drops after the last attempt when it has no DLQ', async () => {
    let calls = 0;
    const { dispatcher, published } = setup(async () => {
      calls++;
      throw new Error('x');
    }, ['t']);
    const started = Date.now();
    expect(await dispatcher.handle(raw())).toEqual({ kind: 'done' });
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(published).toEqual([]);
  });

  it('stops an in-place retry when the subscription closes, without finishing the message', async () => {
    const { dispatcher, abort } = setup(async () => {
      throw new Error('x');
    }, ['t']);
    const pending = dispatcher.handle(raw());
    setTimeout(() => abort.abort(), 20);
    expect(await pending).toEqual({ kind: 'stopped' });
  });

  it('describes errors on one bounded line', () => {
    expect(describeError(new TypeError('a\n  b'))).toBe('TypeError: a b');
    expect(describeError('x')).toBe('thrown: x');
    expect(describeError(new Error('y'.repeat(2000))).length).toBe(1000);
  });
});
