/**
 * Persons after registration, against real Postgres and Redis: their attributes change (the ID
 * number does not), they are listed a page at a time with filters, and a removed person passes
 * no door from the moment the removal returns — their credentials and grants go with them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { InvalidArgumentError, NotFoundError, PermissionDeniedError } from '@anfang/platform/grpc';
import {
  COMPOUND,
  OTHER_ROOM,
  ROOM,
  present,
  seedResident,
  seedSite,
  startIdentity,
  testIdNumber,
  type Harness,
  type Site,
} from './harness.ts';

const { PersonKind, AccessDecision, AccessReason } = anfang.identity.v1;
const { CredentialType } = anfang.common.v1;

let h: Harness;
let site: Site;
const devices = new Set<string>();

beforeAll(async () => {
  h = await startIdentity('identity_persons', devices);
  site = await seedSite(h, devices);
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

async function register(serial: number, kind = PersonKind.PERSON_KIND_OWNER, roomCode = ROOM) {
  return present(
    (
      await h.client.createPerson(
        {
          compoundId: COMPOUND,
          name: `李${serial}`,
          idNumber: testIdNumber(serial),
          kind,
          roomCode,
          ...(kind === PersonKind.PERSON_KIND_FLOATING
            ? {
                permitValidFrom: { seconds: 1_700_000_000 },
                permitValidTo: { seconds: 1_900_000_000 },
              }
            : {}),
        },
        await h.as('property_staff'),
      )
    ).person,
    'person',
  );
}

describe('UpdatePerson', () => {
  it('replaces name, phone, kind and house; the ID number stays; masked on return, full when revealed', async () => {
    const person = await register(601);
    const updated = present(
      (
        await h.client.updatePerson(
          {
            personId: person.personId,
            name: '李新名',
            phone: '13912345678',
            kind: PersonKind.PERSON_KIND_TENANT,
            roomCode: OTHER_ROOM,
          },
          await h.as('property_staff'),
        )
      ).person,
      'person',
    );
    expect(updated).toMatchObject({
      name: '李**',
      phone: '139****5678',
      kind: PersonKind.PERSON_KIND_TENANT,
    });
    expect(updated.houseId).not.toBe(person.houseId);
    const revealed = (
      await h.client.getPerson({ personId: person.personId, reveal: true }, await h.as('police'))
    ).person!;
    expect(revealed).toMatchObject({ name: '李新名', phone: '13912345678', idNumber: testIdNumber(601) });

    await expect(
      h.client.updatePerson(
        { personId: person.personId, name: '李', kind: PersonKind.PERSON_KIND_FLOATING },
        await h.as('property_staff'),
      ),
    ).rejects.toThrow(/residence-permit/);
    await expect(
      h.client.updatePerson(
        { personId: person.personId, name: '李', kind: PersonKind.PERSON_KIND_STAFF },
        await h.as('guard'),
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      h.client.updatePerson(
        { personId: person.personId, name: '李', kind: PersonKind.PERSON_KIND_STAFF },
        await h.as('property_staff', { compounds: ['370303001001999'] }),
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});

describe('ListPersons', () => {
  it('pages through the compound in id order, filtered by kind and house, masked', async () => {
    const registered = [
      await register(611, PersonKind.PERSON_KIND_FLOATING, OTHER_ROOM),
      await register(612, PersonKind.PERSON_KIND_FLOATING, OTHER_ROOM),
      await register(613, PersonKind.PERSON_KIND_FLOATING, OTHER_ROOM),
    ];
    const staff = await h.as('guard');
    const first = await h.client.listPersons(
      { compoundId: COMPOUND, kind: PersonKind.PERSON_KIND_FLOATING, page: { pageSize: 2 } },
      staff,
    );
    expect(first.persons).toHaveLength(2);
    const second = await h.client.listPersons(
      {
        compoundId: COMPOUND,
        kind: PersonKind.PERSON_KIND_FLOATING,
        page: { pageSize: 2, pageToken: first.page!.nextPageToken },
      },
      staff,
    );
    const listed = [...first.persons, ...second.persons].map((p) => p.personId);
    expect(listed).toEqual(registered.map((p) => p.personId).sort());
    expect(second.page!.nextPageToken).toBe('');
    expect(first.persons.every((p) => p.name?.endsWith('*') && p.idNumber?.includes('*'))).toBe(true);

    const inRoom = await h.client.listPersons({ compoundId: COMPOUND, roomCode: OTHER_ROOM }, staff);
    expect(inRoom.persons.map((p) => p.personId)).toEqual(expect.arrayContaining(listed));
    expect(inRoom.persons.every((p) => p.houseId === registered[0]!.houseId)).toBe(true);

    await expect(
      h.client.listPersons({ compoundId: COMPOUND, page: { pageToken: 'nonsense' } }, staff),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      h.client.listPersons({ compoundId: COMPOUND }, await h.as('guard', { compounds: ['370303001001999'] })),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});

describe('town/street officers and auditors', () => {
  it('an area scope reads and keeps its compounds, not another area; an auditor only reads, masked', async () => {
    const person = await register(631);
    const officer = await h.as('street_officer', { compounds: [], areas: [COMPOUND.slice(0, 9)] });
    const elsewhere = await h.as('street_officer', { compounds: [], areas: ['370303002'] });
    const listed = await h.client.listPersons({ compoundId: COMPOUND, page: { pageSize: 1000 } }, officer);
    expect(listed.persons.map((p) => p.personId)).toContain(person.personId);
    const addresses = await h.client.listAddresses({ parentCode: COMPOUND.slice(0, 12) }, officer);
    expect(addresses.addresses.map((a) => a.compoundId)).toContain(COMPOUND);
    expect(
      (await h.client.listAddresses({ parentCode: COMPOUND.slice(0, 12) }, elsewhere)).addresses.map(
        (a) => a.compoundId,
      ),
    ).not.toContain(COMPOUND);
    await expect(h.client.listPersons({ compoundId: COMPOUND }, elsewhere)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    await expect(h.client.getPerson({ personId: person.personId }, elsewhere)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    const renamed = await h.client.updatePerson(
      { personId: person.personId, name: '王631', kind: PersonKind.PERSON_KIND_OWNER, roomCode: ROOM },
      officer,
    );
    expect(renamed.person?.name).toMatch(/^王/);

    const auditor = await h.as('auditor', { compounds: 'all' });
    const seen = await h.client.getPerson({ personId: person.personId }, auditor);
    expect(seen.person?.idNumber).toContain('*');
    await expect(
      h.client.getPerson({ personId: person.personId, reveal: true }, auditor),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      h.client.updatePerson(
        { personId: person.personId, name: '赵631', kind: PersonKind.PERSON_KIND_OWNER, roomCode: ROOM },
        auditor,
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      h.client.updatePerson(
        { personId: person.personId, name: '赵631', kind: PersonKind.PERSON_KIND_OWNER, roomCode: ROOM },
        await h.as('platform_operator', { compounds: 'all' }),
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});

describe('RemovePerson', () => {
  it('revokes credentials and grants with the person: denied at once, gone from lists', async () => {
    const { person } = await seedResident(h, site, 621, 'C0FFEE21');
    const authorize = async () =>
      h.client.authorize(
        {
          deviceId: site.gateDevice,
          credentialType: CredentialType.CREDENTIAL_TYPE_CARD,
          credentialValue: 'C0FFEE21',
        },
        await h.as('service', { compounds: 'all' }),
      );
    expect((await authorize()).decision).toBe(AccessDecision.ACCESS_DECISION_ALLOWED);

    const removed = await h.client.removePerson(
      { personId: person.personId, reason: 'moved out' },
      await h.as('property_staff'),
    );
    expect(removed).toMatchObject({ credentialsRevoked: 1, grantsRevoked: 1 });
    expect(await authorize()).toMatchObject({
      decision: AccessDecision.ACCESS_DECISION_DENIED,
      reason: AccessReason.ACCESS_REASON_REVOKED,
    });
    await expect(
      h.client.getPerson({ personId: person.personId }, await h.as('property_staff')),
    ).rejects.toBeInstanceOf(NotFoundError);
    const all = await h.client.listPersons(
      { compoundId: COMPOUND, page: { pageSize: 1000 } },
      await h.as('guard'),
    );
    expect(all.persons.map((p) => p.personId)).not.toContain(person.personId);
    await expect(
      h.client.removePerson({ personId: person.personId, reason: 'again' }, await h.as('property_staff')),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      h.client.removePerson({ personId: randomUUID(), reason: '' }, await h.as('property_staff')),
    ).rejects.toBeInstanceOf(NotFoundError);
  });
});
