/**
 * What a platform is sent of the current registry when UpdatePlatform entitles it to more (an
 * extension, an object kind, a compound, or it is enabled): each person's, house's and
 * vehicle's latest event (the snapshot police-upload keeps) and each device's current state, for
 * exactly the (kind, compound) pairs the change added. Objects are built as the live path builds
 * them, with the same ids, so a repeat is the same outbox row and a record the platform already
 * has is a duplicate it recognises. A record whose latest state is a removal is not sent: the
 * platform never knew it.
 */
import { createHash } from 'node:crypto';
import { topics, type anfang } from '@anfang/contracts';
import type { EnvelopeName } from '@anfang/gat1400';
import { deviceObjects, type DeviceRecord } from './devices.ts';
import { isEntitled, type Entitlement, type UploadObject } from './objects.ts';
import { carInfoObject, houseInfoObject, personInfoObject, type RegistryBuild } from './registry.ts';

export interface SnapshotEvent {
  readonly topic: string;
  readonly eventId: string;
  /** The decoded event. */
  readonly payload: unknown;
}

type Entitled = Entitlement & { readonly enabled: boolean };

/** Entitled now to `kind` of `compoundId` and not before (a disabled platform received nothing). */
export const newlyEntitled = (
  before: Entitled | undefined,
  after: Entitled,
  kind: EnvelopeName,
  compoundId: string,
): boolean =>
  after.enabled &&
  isEntitled(after, kind, compoundId) &&
  !(before?.enabled === true && isEntitled(before, kind, compoundId));

/** The snapshot topics a platform may need: those of the extensions it has. */
export const snapshotTopics = (after: Entitlement): string[] =>
  (
    [
      ['personInfos', topics.identityPersonRegistry.name],
      ['houseInfos', topics.identityHouseRegistry.name],
      ['carInfos', topics.vehicleRegistry.name],
    ] as const
  )
    .filter(([kind]) => after.extensions.includes(kind))
    .map(([, topic]) => topic);

/**
 * A device state's own event id (the registry table keeps the state, not the event): the same
 * state gives the same id, so a repeated back-fill is the same outbox row.
 */
export function deviceStateEventId(d: DeviceRecord): string {
  const h = createHash('sha256')
    .update(`${d.deviceId}\n${d.revision}\n${d.online ?? ''}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function backfillObjects(
  before: (Entitled & { readonly includeIdNumbers: boolean }) | undefined,
  after: Entitled & { readonly includeIdNumbers: boolean },
  records: readonly SnapshotEvent[],
  devices: readonly { readonly device: DeviceRecord; readonly changedAt: Date }[],
): UploadObject[] {
  const wanted = (b: RegistryBuild | ReturnType<typeof deviceObjects>[number]): UploadObject[] =>
    b.ok &&
    newlyEntitled(before, after, b.object.kind, b.object.compoundId) &&
    b.object.body.RecordStatus !== '2'
      ? [b.object]
      : [];
  const fromRecords = records.flatMap((r) => {
    switch (r.topic) {
      case topics.identityPersonRegistry.name:
        return wanted(
          personInfoObject(r.eventId, r.payload as anfang.identity.v1.PersonChanged, after.includeIdNumbers),
        );
      case topics.identityHouseRegistry.name:
        return wanted(houseInfoObject(r.eventId, r.payload as anfang.identity.v1.HouseChanged));
      case topics.vehicleRegistry.name:
        return wanted(carInfoObject(r.eventId, r.payload as anfang.vehicle.v1.RegisteredVehicleChanged));
      default:
        return [];
    }
  });
  const fromDevices = devices.flatMap(({ device, changedAt }) =>
    deviceObjects(deviceStateEventId(device), device, changedAt).flatMap(wanted),
  );
  return [...fromRecords, ...fromDevices];
}
