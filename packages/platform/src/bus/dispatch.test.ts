import { describe, expect, it } from 'vitest';
import { backoffMs, createDispatcher, describeError, isUnavailable, type RawMessage } from './dispatch.ts';
import { createBusMetrics } from './metrics.ts';
import {
  HEADER,
  PermanentError,
  type BatchHandler,
  type MessageHandler,
  type OutgoingMessage,
} from './types.ts';

const policy = { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 150 };
const logger = { info() {}, warn() {}, error() {} };

function setup(
  handler: MessageHandler | undefined,
  topics: string[] = ['t', 't.retry', 't.dlq'],
  batchHandler?: BatchHandler,
) {
  const published: { topic: string; messages: readonly OutgoingMessage[] }[] = [];
  const abort = new AbortController();
  const dispatcher = createDispatcher({
    group: 'g',
    handler,
    batchHandler,
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

  describe('batches', () => {
    const batch = (values: string[], topic = 't'): RawMessage[] =>
      values.map((v, n) => raw({ topic, offset: String(n), key: v, value: new TextEncoder().encode(v) }));
    const keys = (messages: readonly { key: string }[]) => messages.map((m) => m.key);

    it('hands a partition batch to the batch handler in one call', async () => {
      const calls: string[][] = [];
      const { dispatcher, published } = setup(undefined, undefined, async (messages) => {
        calls.push(keys(messages));
      });
      expect(await dispatcher.handleBatch(batch(['a', 'b', 'c']))).toEqual({
        handled: 3,
        outcome: { kind: 'done' },
      });
      expect(calls).toEqual([['a', 'b', 'c']]);
      expect(published).toEqual([]);
    });

    it('splits a failed batch so only the bad message is retried, and every other one is applied once', async () => {
      const applied: string[] = [];
      const { dispatcher, published } = setup(undefined, undefined, async (messages) => {
        if (messages.some((m) => m.key === 'bad')) throw new Error('bad row');
        applied.push(...keys(messages));
      });
      const values = ['a', 'b', 'c', 'd', 'bad', 'f', 'g'];
      expect(await dispatcher.handleBatch(batch(values))).toEqual({ handled: 7, outcome: { kind: 'done' } });
      expect(applied).toEqual(['a', 'b', 'c', 'd', 'f', 'g']);
      expect(published.map((p) => [p.topic, p.messages[0]!.key])).toEqual([['t.retry', 'bad']]);
      expect(published[0]!.messages[0]!.headers![HEADER.retryReason]).toBe('Error: bad row');
    });

    it('routes the messages a batch handler reports as failed one by one, with their reasons', async () => {
      const { dispatcher, published } = setup(undefined, undefined, async (messages) => ({
        failed: new Map(
          messages.flatMap((m, n) => (m.key.startsWith('poison') ? [[n, new PermanentError(m.key)]] : [])),
        ),
      }));
      await dispatcher.handleBatch(batch(['a', 'poison-1', 'b', 'poison-2']));
      expect(published.map((p) => [p.topic, p.messages[0]!.headers![HEADER.dlqReason]])).toEqual([
        ['t.dlq', 'permanent: PermanentError: poison-1'],
        ['t.dlq', 'permanent: PermanentError: poison-2'],
      ]);
    });

    it('takes retried messages one at a time and stops at one whose time has not come', async () => {
      const calls: string[][] = [];
      const { dispatcher } = setup(undefined, undefined, async (messages) => void calls.push(keys(messages)));
      const due = { [HEADER.retryGroup]: 'g', [HEADER.retryAttempt]: '2', [HEADER.retryNotBefore]: '0' };
      const later = { ...due, [HEADER.retryNotBefore]: String(Date.now() + 60_000) };
      const messages = batch(['a', 'b', 'c'], 't.retry').map((m, n) => ({
        ...m,
        headers: n === 2 ? later : due,
      }));
      const result = await dispatcher.handleBatch(messages);
      expect(result.handled).toBe(2);
      expect(result.outcome.kind).toBe('wait');
      expect(calls).toEqual([['a'], ['b']]);
    });
  });
});

describe('dispatch: a dependency that cannot be reached', () => {
  const refused = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

  it('tells unreachable dependencies from other errors', () => {
    expect(isUnavailable(refused())).toBe(true);
    expect(isUnavailable(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(true);
    expect(
      isUnavailable(Object.assign(new Error('the database system is starting up'), { code: '57P03' })),
    ).toBe(true);
    expect(isUnavailable(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe(true);
    expect(isUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isUnavailable(new Error('identity: could not decide', { cause: refused() }))).toBe(true);
    expect(isUnavailable(new AggregateError([refused(), refused()], 'connect failed'))).toBe(true);
    expect(isUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isUnavailable(new Error('boom'))).toBe(false);
    expect(isUnavailable(new PermanentError('bad payload'))).toBe(false);
    expect(isUnavailable('ECONNREFUSED')).toBe(false);
  });

  it('holds the message without using up attempts until the dependency is back: no retry topic, no DLQ', async () => {
    let calls = 0;
    // More failures than the policy's attempts (3): an outage longer than the back-off.
    const { dispatcher, published } = setup(async () => {
      if (++calls <= 5) throw refused();
    });
    expect(await dispatcher.handle(raw())).toEqual({ kind: 'done' });
    expect(calls).toBe(6);
    expect(published).toEqual([]);
  });

  it('holds a retried message too, keeping its attempt', async () => {
    let calls = 0;
    const { dispatcher, published } = setup(async () => {
      calls++;
      if (calls <= 3) throw refused();
      throw new Error('its own fault');
    });
    const retried = raw({
      topic: 't.retry',
      headers: { [HEADER.retryGroup]: 'g', [HEADER.retryAttempt]: '2', [HEADER.retryNotBefore]: '0' },
    });
    expect(await dispatcher.handle(retried)).toEqual({ kind: 'done' });
    expect(calls).toBe(4);
    // The failure of its own after the outage is its attempt 2 of 3: on to the retry topic.
    expect(published.map((p) => [p.topic, p.messages[0]!.headers![HEADER.retryAttempt]])).toEqual([
      ['t.retry', '3'],
    ]);
  });

  it('lets go of a held message when the subscription closes, without routing it', async () => {
    const { dispatcher, published, abort } = setup(async () => {
      throw refused();
    });
    const outcome = dispatcher.handle(raw());
    setTimeout(() => abort.abort(), 300);
    expect(await outcome).toEqual({ kind: 'stopped' });
    expect(published).toEqual([]);
  });
});
