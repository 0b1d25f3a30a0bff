import { describe, expect, it } from 'vitest';
import { watchTopics, type WatchableBus, type WatchedTopic } from './watch.ts';

interface Event {
  readonly id: string;
  readonly meta: { readonly producer: string; readonly compoundId: string };
}
const codec = (name: string): WatchedTopic<Event> => ({
  name,
  payload: { decode: (bytes) => JSON.parse(Buffer.from(bytes).toString()) as Event },
});
const encode = (event: Event) => Buffer.from(JSON.stringify(event));

describe('watchTopics', () => {
  it('keeps the decoded events of each topic from the given producer and compound, in a group of its own', async () => {
    let handler: ((message: { topic: string; value: Uint8Array }) => Promise<void>) | undefined;
    const groups: string[] = [];
    let closed = false;
    const bus: WatchableBus = {
      subscribe: async (options) => {
        groups.push(options.group);
        handler = options.handler;
        return { close: async () => void (closed = true) };
      },
    };
    const [a, b] = [codec('t.a'), codec('t.b')];
    const watch = await watchTopics(bus, {
      label: 'alarms',
      topics: [a, b],
      producer: 'svc',
      compoundId: 'c1',
    });
    const send = (topic: string, id: string, producer = 'svc', compoundId = 'c1') =>
      handler!({ topic, value: encode({ id, meta: { producer, compoundId } }) });
    await send('t.a', '1');
    await send('t.b', '2');
    await send('t.a', '3', 'other');
    await send('t.a', '4', 'svc', 'c2');
    await send('t.a', '5');
    expect(watch.events(a).map((e) => e.id)).toEqual(['1', '5']);
    expect(watch.events(b).map((e) => e.id)).toEqual(['2']);
    expect(() => watch.events(codec('t.c'))).toThrow('topic t.c is not watched');
    expect(groups[0]).toMatch(/^alarms-watch-/);
    await watch.close();
    expect(closed).toBe(true);
  });
});
