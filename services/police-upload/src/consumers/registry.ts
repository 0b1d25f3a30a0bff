/**
 * The registry topics (identity's persons and houses, vehicle-access's registered vehicles) →
 * the community registry extensions, for the platforms that want each one (`extensions`,
 * `compounds`). A PersonInfo carries the ID number only to platforms configured for ID numbers
 * (`include_id_numbers`); the others get the same record without it. A malformed event is
 * refused (the bus sends it to the DLQ).
 */
import { topics, type anfang } from '@anfang/contracts';
import { PermanentError } from '@anfang/platform/bus';
import type { BuildResult } from '../domain/objects.ts';
import { isEntitled } from '../domain/objects.ts';
import { carInfoObject, houseInfoObject, personInfoObject, type RegistryBuild } from '../domain/registry.ts';
import type { Platform } from '../store/platforms.ts';
import type { RegistryRecord } from '../store/registry.ts';

export const REGISTRY_TOPICS = [
  topics.identityPersonRegistry,
  topics.identityHouseRegistry,
  topics.vehicleRegistry,
] as const;

const ENCODE: Readonly<Record<string, (payload: unknown) => Uint8Array>> = {
  [topics.identityPersonRegistry.name]: (p) =>
    topics.identityPersonRegistry.payload.encode(p as anfang.identity.v1.PersonChanged),
  [topics.identityHouseRegistry.name]: (p) =>
    topics.identityHouseRegistry.payload.encode(p as anfang.identity.v1.HouseChanged),
  [topics.vehicleRegistry.name]: (p) =>
    topics.vehicleRegistry.payload.encode(p as anfang.vehicle.v1.RegisteredVehicleChanged),
};

export const isRegistryTopic = (topicName: string): boolean => topicName in ENCODE;

export interface RegistryUpload {
  readonly built: BuildResult;
  readonly platforms: readonly Platform[];
}

function checked(built: RegistryBuild): BuildResult {
  if (!built.ok && built.malformed) throw new PermanentError(built.reason);
  return built;
}

/** What to enqueue for a registry event, and for whom; [] when the topic is not a registry one. */
export function registryUploads(
  topicName: string,
  eventId: string,
  payload: unknown,
  platforms: readonly Platform[],
): RegistryUpload[] {
  const wanting = (kind: 'personInfos' | 'houseInfos' | 'carInfos', compoundId: string) =>
    platforms.filter((p) => isEntitled(p, kind, compoundId));
  switch (topicName) {
    case topics.identityPersonRegistry.name: {
      const e = payload as anfang.identity.v1.PersonChanged;
      const to = wanting('personInfos', e.person?.compoundId || e.meta?.compoundId || '');
      const withIds = to.filter((p) => p.includeIdNumbers);
      const without = to.filter((p) => !p.includeIdNumbers);
      return [
        ...(withIds.length > 0
          ? [{ built: checked(personInfoObject(eventId, e, true)), platforms: withIds }]
          : []),
        // Built even when nobody wants it: a malformed event goes to the DLQ either way.
        { built: checked(personInfoObject(eventId, e, false)), platforms: without },
      ];
    }
    case topics.identityHouseRegistry.name: {
      const e = payload as anfang.identity.v1.HouseChanged;
      const built = checked(houseInfoObject(eventId, e));
      return [{ built, platforms: wanting('houseInfos', built.ok ? built.object.compoundId : '') }];
    }
    case topics.vehicleRegistry.name: {
      const e = payload as anfang.vehicle.v1.RegisteredVehicleChanged;
      const built = checked(carInfoObject(eventId, e));
      return [{ built, platforms: wanting('carInfos', built.ok ? built.object.compoundId : '') }];
    }
    default:
      return [];
  }
}

/**
 * The snapshot row of a registry event (for back-fills), from what it was built into; undefined
 * when it is nothing a platform could be sent (a compound without a standard-address code).
 */
export function snapshotRecord(
  topicName: string,
  eventId: string,
  payload: unknown,
  uploads: readonly RegistryUpload[],
): RegistryRecord | undefined {
  // The last build is the one without ID numbers, made for every event.
  const built = uploads.at(-1)?.built;
  if (!built?.ok) return undefined;
  return {
    topic: topicName,
    recordId: built.object.objectId.split('/')[0]!,
    compoundId: built.object.compoundId,
    eventId,
    occurredAt: built.object.capturedAt,
    payload: ENCODE[topicName]!(payload),
  };
}
