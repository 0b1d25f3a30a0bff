/**
 * Registry events → the community registry extensions of an upper platform (pure):
 * PersonInfos (实有人口), HouseInfos (实有房屋) and CarInfos (registered resident vehicles).
 *
 * The city's interface document is not public; the field names follow the notes' style
 * (PascalCase, codes as strings, Beijing `yyyyMMddHHmmss`) and the README's conformance table
 * records the reading. A record keeps one id on the wire — its registry UUID as 32 upper-case hex
 * characters — so an update is a new upload of the same id, and a removal is one more upload of
 * it with `RecordStatus` 2 and its `RemoveTime` (the registry keeps moved-out persons and removed
 * vehicles as history; one method also keeps a record's changes in order in the outbox). Each
 * change is one outbox row (`<id>/<event id>`), so a change waiting behind another is still sent.
 *
 * Personal data stays sealed until the moment of sending: the name and (for platforms configured
 * for them) the ID number go into the outbox as identity's ciphertext, which the link opens
 * (./sealed.ts); other platforms get no ID number at all.
 */
import { anfang } from '@anfang/contracts';
import { fromTimestamp } from '@anfang/platform/bus';
import { formatGat1400Time, type EnvelopeName, type Obj } from '@anfang/gat1400';
import { GAT_PLATE_COLOR, vehicleColor, type UploadObject } from './objects.ts';
import { sealedField } from './sealed.ts';

const { RegistryChange, PersonKind, HouseUse } = anfang.identity.v1;
const { VehicleChange } = anfang.vehicle.v1;

export type RegistryBuild =
  | { readonly ok: true; readonly object: UploadObject }
  /** `malformed`: the event itself is wrong (DLQ); otherwise it is just nothing to upload. */
  | { readonly ok: false; readonly reason: string; readonly malformed: boolean };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The registry's UUID as the record's id on the wire. */
export const recordId = (uuid: string): string => uuid.replace(/-/g, '').toUpperCase();
const ADDRESS_CODE = /^\d{6,30}$/;

const PERSON_TYPE: Readonly<Record<number, string>> = {
  [PersonKind.PERSON_KIND_OWNER]: '1',
  [PersonKind.PERSON_KIND_FAMILY]: '2',
  [PersonKind.PERSON_KIND_TENANT]: '3',
  [PersonKind.PERSON_KIND_FLOATING]: '4',
  [PersonKind.PERSON_KIND_STAFF]: '5',
};

const HOUSE_USE: Readonly<Record<number, string>> = {
  [HouseUse.HOUSE_USE_OWNER_OCCUPIED]: '1',
  [HouseUse.HOUSE_USE_RENTED]: '2',
  [HouseUse.HOUSE_USE_VACANT]: '3',
  [HouseUse.HOUSE_USE_COMMERCIAL]: '4',
};

const malformed = (reason: string): RegistryBuild => ({ ok: false, reason, malformed: true });

type Time = Parameters<typeof fromTimestamp>[0];
const time = (t: Time): string | undefined => {
  const ms = fromTimestamp(t);
  return ms === undefined ? undefined : formatGat1400Time(new Date(ms));
};

/** What every record shares; undefined fields are left out. */
function record(
  kind: EnvelopeName,
  idField: string,
  uuid: string,
  eventId: string,
  meta: anfang.common.v1.IEventMeta | null | undefined,
  compoundId: string,
  removed: boolean,
  fields: Obj,
): RegistryBuild {
  if (!UUID.test(uuid)) return malformed(`${idField}: the record id is not a UUID`);
  const occurred = fromTimestamp(meta?.occurredAt);
  if (occurred === undefined) return malformed('meta.occurred_at is missing');
  if (!ADDRESS_CODE.test(compoundId))
    return { ok: false, reason: 'the compound has no standard-address code', malformed: false };
  const at = new Date(occurred);
  const id = recordId(uuid);
  const body: Obj = { [idField]: id, CommunityCode: compoundId };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') body[k] = v;
  body.RecordStatus = removed ? '2' : '1';
  if (removed) body.RemoveTime = formatGat1400Time(at);
  body.UpdateTime = formatGat1400Time(at);
  return {
    ok: true,
    object: {
      kind,
      objectId: `${id}/${eventId}`,
      sourceEventId: eventId,
      compoundId,
      deviceId: '',
      capturedAt: at,
      images: [],
      body,
    },
  };
}

/**
 * anfang.identity.v1.PersonChanged → PersonInfoObject. `withIdNumber`: the platform is configured
 * for ID numbers (IDType 111 + the sealed number); otherwise the number is left out entirely.
 */
export function personInfoObject(
  eventId: string,
  e: anfang.identity.v1.IPersonChanged,
  withIdNumber: boolean,
): RegistryBuild {
  const p = e.person;
  if (!p?.personId) return malformed('person.person_id is missing');
  if (!p.nameSealed) return malformed('person.name_sealed is missing');
  if (withIdNumber && !p.idNumberSealed) return malformed('person.id_number_sealed is missing');
  const type = PERSON_TYPE[p.kind ?? 0];
  if (!type) return malformed('person.kind is not set');
  return record(
    'personInfos',
    'PersonInfoID',
    p.personId,
    eventId,
    e.meta,
    p.compoundId || e.meta?.compoundId || '',
    e.change === RegistryChange.REGISTRY_CHANGE_REMOVED,
    {
      Name: sealedField(p.nameSealed, p.personId),
      ...(withIdNumber ? { IDType: '111', IDNumber: sealedField(p.idNumberSealed!, p.personId) } : {}),
      PersonType: type,
      HouseInfoID: p.houseId && UUID.test(p.houseId) ? recordId(p.houseId) : undefined,
      HouseCode: p.roomCode && ADDRESS_CODE.test(p.roomCode) ? p.roomCode : undefined,
      Address: p.address || undefined,
      PermitBeginTime: time(p.permit?.startTime),
      PermitEndTime: time(p.permit?.endTime),
    },
  );
}

/** anfang.identity.v1.HouseChanged → HouseInfoObject. */
export function houseInfoObject(eventId: string, e: anfang.identity.v1.IHouseChanged): RegistryBuild {
  const h = e.house;
  if (!h?.houseId) return malformed('house.house_id is missing');
  if (!h.roomCode || !ADDRESS_CODE.test(h.roomCode))
    return malformed('house.room_code is not a standard-address code');
  const use = HOUSE_USE[h.use ?? 0];
  if (!use) return malformed('house.use is not set');
  return record(
    'houseInfos',
    'HouseInfoID',
    h.houseId,
    eventId,
    e.meta,
    h.compoundId || e.meta?.compoundId || '',
    e.change === RegistryChange.REGISTRY_CHANGE_REMOVED,
    { HouseCode: h.roomCode, Address: h.fullAddress || undefined, HouseUse: use },
  );
}

/** anfang.vehicle.v1.RegisteredVehicleChanged → CarInfoObject. */
export function carInfoObject(
  eventId: string,
  e: anfang.vehicle.v1.IRegisteredVehicleChanged,
): RegistryBuild {
  const v = e.vehicle;
  if (!v?.vehicleId) return malformed('vehicle.vehicle_id is missing');
  if (!v.plateNumber) return malformed('vehicle.plate_number is missing');
  return record(
    'carInfos',
    'CarInfoID',
    v.vehicleId,
    eventId,
    e.meta,
    v.compoundId || e.meta?.compoundId || '',
    e.change === VehicleChange.VEHICLE_CHANGE_REMOVED,
    {
      PlateNo: v.plateNumber,
      PlateColor: GAT_PLATE_COLOR[v.plateColor ?? 0] ?? (v.plateColor ? '99' : undefined),
      VehicleColor: vehicleColor(v.vehicleColor),
      OwnerPersonInfoID:
        v.ownerPersonId && UUID.test(v.ownerPersonId) ? recordId(v.ownerPersonId) : undefined,
      ParkingSpaceNo: v.parkingSpace || undefined,
      BeginTime: time(v.validity?.startTime),
      EndTime: time(v.validity?.endTime),
    },
  );
}
