import { describe, expect, it } from 'vitest';
import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import { backfillObjects, deviceStateEventId, newlyEntitled, snapshotTopics } from './backfill.ts';
import type { DeviceRecord } from './devices.ts';

const { RegistryChange, PersonKind } = anfang.identity.v1;
const { DeviceType } = anfang.common.v1;

const at = new Date('2026-11-29T02:00:00Z');
const A = '370303001001007';
const B = '370303001001008';
const platform = (over: Partial<Parameters<typeof backfillObjects>[1]> = {}) => ({
  objectKinds: [] as string[],
  extensions: ['personInfos'],
  compounds: [A],
  includeIdNumbers: false,
  enabled: true,
  ...over,
});
const person = (
  personId: string,
  compoundId: string,
  change = RegistryChange.REGISTRY_CHANGE_REGISTERED,
) => ({
  topic: topics.identityPersonRegistry.name,
  eventId: `e-${personId}`,
  payload: {
    meta: { occurredAt: timestampFromDate(at), compoundId },
    change,
    person: {
      personId,
      compoundId,
      nameSealed: 'v1.k1.name',
      idNumberSealed: 'v1.k1.id',
      kind: PersonKind.PERSON_KIND_OWNER,
    },
  },
});
const P1 = '0f3a9c1e-2b4d-4e5f-8a6b-7c8d9e0f1a21';
const P2 = '0f3a9c1e-2b4d-4e5f-8a6b-7c8d9e0f1a22';
const P3 = '0f3a9c1e-2b4d-4e5f-8a6b-7c8d9e0f1a23';
const gate: DeviceRecord = {
  deviceId: 'gate-1',
  gat1400Id: '37030300001190000201',
  name: 'east gate',
  deviceType: DeviceType.DEVICE_TYPE_FACE_GATE,
  module: 0,
  compoundId: A,
  addressCode: A,
  place: '',
  model: '',
  ipAddress: '',
  active: true,
  online: true,
  revision: 3,
};

describe('back-fill of a newly entitled platform', () => {
  it('is what the change added: a new extension, a new compound, enabling', () => {
    const before = platform({ extensions: [] });
    expect(newlyEntitled(before, platform(), 'personInfos', A)).toBe(true);
    expect(newlyEntitled(platform(), platform(), 'personInfos', A)).toBe(false);
    expect(newlyEntitled(platform(), platform({ compounds: [A, B] }), 'personInfos', B)).toBe(true);
    expect(newlyEntitled(platform(), platform({ compounds: [A, B] }), 'personInfos', A)).toBe(false);
    expect(newlyEntitled(platform({ enabled: false }), platform(), 'personInfos', A)).toBe(true);
    expect(newlyEntitled(undefined, platform({ enabled: false }), 'personInfos', A)).toBe(false);
    expect(newlyEntitled(undefined, platform({ compounds: [] }), 'personInfos', B)).toBe(true);
  });

  it('reads only the snapshot topics of the extensions the platform has', () => {
    expect(snapshotTopics(platform({ extensions: ['carInfos', 'doorDevices'] }))).toEqual([
      topics.vehicleRegistry.name,
    ]);
  });

  it('sends the current records of the new entitlement, not removed ones, with the live ids', () => {
    const objects = backfillObjects(
      undefined,
      platform(),
      [person(P1, A), person(P2, B), person(P3, A, RegistryChange.REGISTRY_CHANGE_REMOVED)],
      [],
    );
    expect(objects.map((o) => o.objectId)).toEqual([`0F3A9C1E2B4D4E5F8A6B7C8D9E0F1A21/e-${P1}`]);
    expect(objects[0]!.body).not.toHaveProperty('IDNumber');
    const withIds = backfillObjects(undefined, platform({ includeIdNumbers: true }), [person(P1, A)], []);
    expect(withIds[0]!.body).toHaveProperty('IDNumber');
  });

  it('describes the devices of a newly entitled compound once per state', () => {
    const objects = backfillObjects(
      platform({ extensions: ['doorDevices'], compounds: [B] }),
      platform({ extensions: ['doorDevices'], compounds: [A, B] }),
      [],
      [{ device: gate, changedAt: at }],
    );
    expect(objects.map((o) => o.kind)).toEqual(['doorDevices']);
    expect(objects[0]!.body).toMatchObject({ DeviceID: gate.gat1400Id, IsOnline: '1' });
    expect(deviceStateEventId(gate)).toBe(deviceStateEventId({ ...gate }));
    expect(deviceStateEventId(gate)).not.toBe(deviceStateEventId({ ...gate, online: false }));
    expect(deviceStateEventId(gate)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });
});
