import { describe, expect, it } from 'vitest';
import { oneSubscriptionPerGroup } from './groups.ts';
import type { SubscribeOptions } from './types.ts';

const options = (group: string, topics: string[]): SubscribeOptions => ({
  group,
  topics,
  handler: async () => undefined,
});

describe('oneSubscriptionPerGroup', () => {
  it('refuses a second subscription of an open group, and allows it again once closed', async () => {
    const closed: string[] = [];
    const subscribe = oneSubscriptionPerGroup(async ({ group }) => ({
      close: async () => void closed.push(group),
    }));
    const first = await subscribe(options('alarms', ['a', 'b']));
    await expect(subscribe(options('alarms', ['c']))).rejects.toThrow(
      'bus: consumer group alarms already has a subscription on this bus; subscribe once with all its topics',
    );
    const other = await subscribe(options('scoring', ['c']));
    await Promise.all([first.close(), first.close()]);
    expect(closed).toEqual(['alarms']);
    await (await subscribe(options('alarms', ['a', 'b', 'c']))).close();
    await other.close();
    expect(closed).toEqual(['alarms', 'alarms', 'scoring']);
  });

  it('frees the group when subscribing fails', async () => {
    let fail = true;
    const subscribe = oneSubscriptionPerGroup(async () => {
      if (fail) throw new Error('topic missing');
      return { close: async () => undefined };
    });
    await expect(subscribe(options('alarms', ['a']))).rejects.toThrow('topic missing');
    fail = false;
    await expect(subscribe(options('alarms', ['a']))).resolves.toBeDefined();
  });
});
