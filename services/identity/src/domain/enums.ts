/**
 * The service's words for things and the contract's enums, both ways. Unknown enum values map
 * to undefined so that the edges can refuse them with a clear message.
 */
import { anfang } from '@anfang/contracts';
import type { CredentialKind } from './credentials.ts';
import type { DecisionRole, DoorDirection, GrantRole, Reason } from './decision.ts';
import type { HouseUse, PersonKind } from './import-csv.ts';

const { CredentialType, Direction, SpoofCheckResult } = anfang.common.v1;
const {
  AccessReason,
  PersonRole,
  HouseUse: HouseUseEnum,
  PersonKind: PersonKindEnum,
  DoorKind,
  VisitChannel,
} = anfang.identity.v1;

function bidirectional<K extends string>(pairs: readonly (readonly [K, number])[]) {
  const toProto = new Map(pairs);
  const fromProto = new Map(pairs.map(([k, v]) => [v, k] as const));
  return {
    toProto: (k: K): number => toProto.get(k)!,
    fromProto: (v: number | null | undefined): K | undefined => (v == null ? undefined : fromProto.get(v)),
  };
}

export const credentialKinds = bidirectional<CredentialKind>([
  ['card', CredentialType.CREDENTIAL_TYPE_CARD],
  ['id_card', CredentialType.CREDENTIAL_TYPE_ID_CARD],
  ['face', CredentialType.CREDENTIAL_TYPE_FACE],
  ['pin', CredentialType.CREDENTIAL_TYPE_PIN],
  ['qr', CredentialType.CREDENTIAL_TYPE_QR_CODE],
  ['nfc', CredentialType.CREDENTIAL_TYPE_NFC],
]);

export const reasons = bidirectional<Reason>([
  ['granted', AccessReason.ACCESS_REASON_GRANTED],
  ['visitor_pass', AccessReason.ACCESS_REASON_VISITOR_PASS],
  ['no_grant', AccessReason.ACCESS_REASON_NO_GRANT],
  ['expired', AccessReason.ACCESS_REASON_EXPIRED],
  ['wrong_door', AccessReason.ACCESS_REASON_WRONG_DOOR],
  ['revoked', AccessReason.ACCESS_REASON_REVOKED],
  ['spoof', AccessReason.ACCESS_REASON_SPOOF],
  ['unknown_credential', AccessReason.ACCESS_REASON_UNKNOWN_CREDENTIAL],
  ['outside_schedule', AccessReason.ACCESS_REASON_OUTSIDE_SCHEDULE],
  ['unknown_door', AccessReason.ACCESS_REASON_UNKNOWN_DOOR],
  ['anti_passback', AccessReason.ACCESS_REASON_ANTI_PASSBACK],
]);

export const roles = bidirectional<DecisionRole>([
  ['resident', PersonRole.PERSON_ROLE_RESIDENT],
  ['property_staff', PersonRole.PERSON_ROLE_PROPERTY_STAFF],
  ['community_manager', PersonRole.PERSON_ROLE_COMMUNITY_MANAGER],
  ['police', PersonRole.PERSON_ROLE_POLICE],
  ['visitor', PersonRole.PERSON_ROLE_VISITOR],
]);

export const grantRoles = {
  toProto: (role: GrantRole): number => roles.toProto(role),
  fromProto: (value: number | null | undefined): GrantRole | undefined => {
    const role = roles.fromProto(value);
    return role === 'visitor' ? undefined : role;
  },
};

export const houseUses = bidirectional<HouseUse>([
  ['owner_occupied', HouseUseEnum.HOUSE_USE_OWNER_OCCUPIED],
  ['rented', HouseUseEnum.HOUSE_USE_RENTED],
  ['vacant', HouseUseEnum.HOUSE_USE_VACANT],
  ['commercial', HouseUseEnum.HOUSE_USE_COMMERCIAL],
]);

export const personKinds = bidirectional<PersonKind>([
  ['owner', PersonKindEnum.PERSON_KIND_OWNER],
  ['family', PersonKindEnum.PERSON_KIND_FAMILY],
  ['tenant', PersonKindEnum.PERSON_KIND_TENANT],
  ['floating', PersonKindEnum.PERSON_KIND_FLOATING],
  ['staff', PersonKindEnum.PERSON_KIND_STAFF],
]);

export type DoorKindName = 'compound_gate' | 'unit_door' | 'car_park';
export const doorKinds = bidirectional<DoorKindName>([
  ['compound_gate', DoorKind.DOOR_KIND_COMPOUND_GATE],
  ['unit_door', DoorKind.DOOR_KIND_UNIT_DOOR],
  ['car_park', DoorKind.DOOR_KIND_CAR_PARK],
]);

export type VisitChannelName = 'guard_room' | 'kiosk' | 'resident_invite';
export const visitChannels = bidirectional<VisitChannelName>([
  ['guard_room', VisitChannel.VISIT_CHANNEL_GUARD_ROOM],
  ['kiosk', VisitChannel.VISIT_CHANNEL_KIOSK],
  ['resident_invite', VisitChannel.VISIT_CHANNEL_RESIDENT_INVITE],
]);

/** Photo, replay, mask or any other failed liveness check. */
export function isSpoof(liveness: number | null | undefined): boolean {
  return (
    liveness === SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_PHOTO ||
    liveness === SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_REPLAY ||
    liveness === SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_MASK ||
    liveness === SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_OTHER
  );
}

export const doorDirections = bidirectional<DoorDirection>([
  ['in', Direction.DIRECTION_IN],
  ['out', Direction.DIRECTION_OUT],
  ['both', Direction.DIRECTION_BOTH],
]);
