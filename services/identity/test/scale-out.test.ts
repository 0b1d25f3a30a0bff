/**
 * Scale-out (issue 13): two instances of identity in one consumer group split the device topics'
 * partitions between them, and every presented credential is decided and recorded exactly once —
 * none lost, none twice — while both run.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { groupMembers, waitFor } from '@anfang/testing';
import { seedReaderBank, seedResident, seedSite, startIdentity, type Harness, type Site } from './harness.ts';

const { DeviceType } = anfang.common.v1;
const { AccessDecision } = anfang.identity.v1;

const READERS = 48;
const EVENTS = 480;

const devices = new Set<string>();
let h: Harness;
let site: Site;

beforeAll(async () => {
  h = await startIdentity('identity_scale_out', devices);
  site = await seedSite(h, devices);
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

describe('two instances in one group', () => {
  it('split the partitions and record every event exactly once', { timeout: 180_000 }, async () => {
    await seedResident(h, site, 31, 'BB000031');
    const readers = await seedReaderBank(h, site, READERS);
    for (const reader of readers) devices.add(reader);

    await h.startReplica();
    const members = await waitFor(
      async () => {
        const now = await groupMembers(h.group);
        const holding = now.filter(
          (m) => (m.partitions[topics.deviceCredentialPresented.name] ?? []).length > 0,
        );
        return now.length === 2 && holding.length === 2 ? now : undefined;
      },
      { timeoutMs: 60_000, message: 'the second instance never got partitions' },
    );
    const assigned = members.flatMap((m) => m.partitions[topics.deviceCredentialPresented.name] ?? []);
    // Each partition to exactly one instance, all of them to someone.
    expect(assigned.sort((a, b) => a - b)).toEqual(
      Array.from({ length: topics.deviceCredentialPresented.partitions }, (_, p) => p),
    );

    const eventIds: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const eventId = randomUUID();
      eventIds.push(eventId);
      await h.devices.publish(
        topics.deviceCredentialPresented,
        {
          device: { deviceId: readers[i % READERS], deviceType: DeviceType.DEVICE_TYPE_UNIT_DOOR_TERMINAL },
          sourceObjectId: eventId,
          card: { cardNumber: 'BB000031' },
        },
        { eventId },
      );
    }
    const ours = new Set(eventIds);
    await waitFor(
      () =>
        new Set(h.events.records.filter((r) => ours.has(r.sourceEventId)).map((r) => r.sourceEventId))
          .size === EVENTS,
      { timeoutMs: 120_000, message: 'not every event was recorded' },
    );
    // Let any duplicate arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const records = h.events.records.filter((r) => ours.has(r.sourceEventId));
    expect(records).toHaveLength(EVENTS);
    expect(records.every((r) => r.decision === AccessDecision.ACCESS_DECISION_ALLOWED)).toBe(true);
  });
});
