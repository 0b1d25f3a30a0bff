import { describe, expect, it } from 'vitest';
import { anfang, timestampFromDate } from '@anfang/contracts';
import { validateCarInfo, validateHouseInfo, validatePersonInfo, type Obj } from '@anfang/gat1400';
import { carInfoObject, houseInfoObject, personInfoObject, recordId } from './registry.ts';
import { openSealed } from './sealed.ts';

const { RegistryChange, PersonKind, HouseUse } = anfang.identity.v1;
const { VehicleChange } = anfang.vehicle.v1;
const { PlateColor } = anfang.common.v1;

const at = new Date('2026-11-29T02:00:00Z'); // 10:00 in Beijing
const meta = { occurredAt: timestampFromDate(at), compoundId: '370303001001007' };
const personId = '0f3a9c1e-2b4d-4e5f-8a6b-7c8d9e0f1a2b';
const houseId = '1f3a9c1e-2b4d-4e5f-8a6b-7c8d9e0f1a2b';
const person = {
  personId,
  compoundId: '370303001001007',
  nameSealed: 'v1.k1.name',
  nameMasked: '王*明',
  idNumberSealed: 'v1.k1.id',
  idNumberMasked: '110***********701X',
  kind: PersonKind.PERSON_KIND_TENANT,
  houseId,
  roomCode: '370303001001007003020501',
  address: '安乐街社区3号楼2单元501',
};
/** What the link does before the POST, with a stand-in for the cipher. */
const open = (body: Obj) =>
  openSealed(body, (c, aad) =>
    aad === personId ? { 'v1.k1.name': '王小明', 'v1.k1.id': '11010519900101701X' }[c] : undefined,
  );

describe('PersonInfos', () => {
  it('a registered resident: stable id, the house, the name sealed until sent, no ID number unless configured', () => {
    const built = personInfoObject(
      'e1',
      { meta, change: RegistryChange.REGISTRY_CHANGE_REGISTERED, person },
      false,
    );
    if (!built.ok) throw new Error(built.reason);
    expect(built.object).toMatchObject({
      kind: 'personInfos',
      objectId: `${recordId(personId)}/e1`,
      compoundId: meta.compoundId,
    });
    expect(built.object.body).toEqual({
      PersonInfoID: '0F3A9C1E2B4D4E5F8A6B7C8D9E0F1A2B',
      CommunityCode: '370303001001007',
      Name: { $sealed: 'v1.k1.name', $aad: personId },
      PersonType: '3',
      HouseInfoID: '1F3A9C1E2B4D4E5F8A6B7C8D9E0F1A2B',
      HouseCode: person.roomCode,
      Address: person.address,
      RecordStatus: '1',
      UpdateTime: '20261129100000',
    });
    // Nothing personal in clear in what the outbox stores.
    expect(JSON.stringify(built.object.body)).not.toMatch(/王小明|11010519900101701X|\*/);
    const sent = open(built.object.body);
    expect(sent.Name).toBe('王小明');
    expect(validatePersonInfo(sent)).toEqual([]);
  });

  it('with ID numbers configured: IDType 111 and the number, opened only at sending', () => {
    const built = personInfoObject(
      'e1',
      { meta, change: RegistryChange.REGISTRY_CHANGE_UPDATED, person },
      true,
    );
    if (!built.ok) throw new Error(built.reason);
    expect(built.object.body.IDNumber).toEqual({ $sealed: 'v1.k1.id', $aad: personId });
    const sent = open(built.object.body);
    expect(sent).toMatchObject({ IDType: '111', IDNumber: '11010519900101701X' });
    expect(validatePersonInfo(sent)).toEqual([]);
  });

  it('a removal is the same id with RecordStatus 2 and its time; a field that does not open is left out', () => {
    const built = personInfoObject(
      'e9',
      { meta, change: RegistryChange.REGISTRY_CHANGE_REMOVED, person },
      false,
    );
    if (!built.ok) throw new Error(built.reason);
    expect(built.object.body).toMatchObject({
      PersonInfoID: recordId(personId),
      RecordStatus: '2',
      RemoveTime: '20261129100000',
    });
    expect(built.object.objectId).toBe(`${recordId(personId)}/e9`);
    const unopened = openSealed(built.object.body, () => undefined);
    expect(unopened.Name).toBeUndefined();
    expect(validatePersonInfo(unopened)).toContain('Name is missing');
  });

  it('a malformed event is refused as such; a compound without an address code is just not uploaded', () => {
    expect(personInfoObject('e', { meta, person: { ...person, personId: '' } }, false)).toMatchObject({
      ok: false,
      malformed: true,
    });
    expect(personInfoObject('e', { meta, person: { ...person, kind: 0 } }, false)).toMatchObject({
      malformed: true,
    });
    expect(personInfoObject('e', { person }, false)).toMatchObject({ reason: 'meta.occurred_at is missing' });
    expect(personInfoObject('e', { meta, person: { ...person, idNumberSealed: '' } }, true)).toMatchObject({
      malformed: true,
    });
    expect(
      personInfoObject('e', { meta, person: { ...person, compoundId: 'test-compound' } }, false),
    ).toMatchObject({
      ok: false,
      malformed: false,
    });
  });
});

describe('HouseInfos and CarInfos', () => {
  it('a house with its standard address and use', () => {
    const built = houseInfoObject('h1', {
      meta,
      change: RegistryChange.REGISTRY_CHANGE_REGISTERED,
      house: {
        houseId,
        roomCode: person.roomCode,
        compoundId: meta.compoundId,
        use: HouseUse.HOUSE_USE_RENTED,
        fullAddress: person.address,
      },
    });
    if (!built.ok) throw new Error(built.reason);
    expect(built.object.body).toMatchObject({
      HouseInfoID: recordId(houseId),
      HouseCode: person.roomCode,
      HouseUse: '2',
    });
    expect(validateHouseInfo(built.object.body)).toEqual([]);
  });

  it('a vehicle with its plate, colours, owner and validity; removed as RecordStatus 2', () => {
    const vehicleId = '2f3a9c1e-2b4d-4e5f-8a6b-7c8d9e0f1a2b';
    const vehicle = {
      vehicleId,
      compoundId: meta.compoundId,
      plateNumber: '鲁C7R001',
      plateColor: PlateColor.PLATE_COLOR_GREEN,
      vehicleColor: 2,
      ownerPersonId: personId,
      parkingSpace: 'A-001',
      validity: { endTime: timestampFromDate(new Date('2027-01-01T00:00:00Z')) },
    };
    const added = carInfoObject('v1', { meta, change: VehicleChange.VEHICLE_CHANGE_ADDED, vehicle });
    if (!added.ok) throw new Error(added.reason);
    expect(added.object.body).toEqual({
      CarInfoID: recordId(vehicleId),
      CommunityCode: meta.compoundId,
      PlateNo: '鲁C7R001',
      PlateColor: '9',
      VehicleColor: '2',
      OwnerPersonInfoID: recordId(personId),
      ParkingSpaceNo: 'A-001',
      EndTime: '20270101080000',
      RecordStatus: '1',
      UpdateTime: '20261129100000',
    });
    expect(validateCarInfo(added.object.body)).toEqual([]);
    const removed = carInfoObject('v2', { meta, change: VehicleChange.VEHICLE_CHANGE_REMOVED, vehicle });
    expect(removed.ok && removed.object.body).toMatchObject({
      CarInfoID: recordId(vehicleId),
      RecordStatus: '2',
    });
    expect(carInfoObject('v3', { meta, vehicle: { ...vehicle, plateNumber: '' } })).toMatchObject({
      malformed: true,
    });
  });
});
