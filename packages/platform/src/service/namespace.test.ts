import { describe, expect, it } from 'vitest';
import type { Bus, SubscribeOptions } from '../bus/index.ts';
import { namespacedGroups } from './resources.ts';

describe('namespacedGroups', () => {
  it('prefixes every consumer group of the install, and nothing else', async () => {
    const seen: { subscribed?: SubscribeOptions; replayed?: string; published?: string } = {};
    const bus: Bus = {
      kind: 'kafka',
      ensureTopics: async () => {},
      publish: async (topic) => {
        seen.published = topic;
      },
      subscribe: async (options) => {
        seen.subscribed = options;
        return { close: async () => {} } as Awaited<ReturnType<Bus['subscribe']>>;
      },
      replay: async (group) => {
        seen.replayed = group;
      },
      check: async () => {},
      close: async () => {},
    };
    const install = namespacedGroups(bus, 'e2e1');
    await install.subscribe({ group: 'identity', topics: ['t'], handler: async () => {} });
    await install.replay('identity', 't', { kind: 'earliest' } as Parameters<Bus['replay']>[2]);
    await install.publish('anfang.device.face-captured.v1', []);
    expect(seen.subscribed?.group).toBe('e2e1.identity');
    expect(seen.subscribed?.topics).toEqual(['t']);
    expect(seen.replayed).toBe('e2e1.identity');
    // Topics are shared: installs see the same traffic, each through its own groups.
    expect(seen.published).toBe('anfang.device.face-captured.v1');
  });
});
