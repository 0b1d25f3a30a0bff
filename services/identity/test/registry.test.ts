/**
 * The 一标三实 registry over gRPC against real Postgres: the CSV import reports bad rows and
 * imports the rest (and changes nothing when repeated), floating-population permits come up
 * before they lapse, rentals link tenant, house and landlord, units register at addresses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, timestampFromMillis } from '@anfang/contracts';
import { InvalidArgumentError } from '@anfang/platform/grpc';
import {
  COMPOUND,
  OTHER_ROOM,
  ROOM,
  present,
  seedSite,
  startIdentity,
  testIdNumber,
  type Harness,
} from './harness.ts';

const { PersonKind, HouseUse, OrganisationKind } = anfang.identity.v1;
const DAY = 86_400_000;

let h: Harness;

beforeAll(async () => {
  h = await startIdentity('identity_registry', new Set());
  await seedSite(h, new Set());
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

async function importCsv(text: string) {
  const messages: anfang.identity.v1.ImportRegistryResponse[] = [];
  for await (const message of h.client.importRegistry(
    { compoundId: COMPOUND, csv: new TextEncoder().encode(text) },
    await h.as('property_staff'),
  ))
    messages.push(message);
  return messages;
}

describe('ImportRegistry', () => {
  const header = 'room_code,house_use,name,id_number,phone,person_kind,permit_valid_from,permit_valid_to\n';
  const file =
    header +
    `${ROOM},owner_occupied,王一,${testIdNumber(401)},13900000401,owner,,\n` +
    `${ROOM},owner_occupied,王二,11010519900101401X,,family,,\n` +
    `${OTHER_ROOM},rented,刘三,${testIdNumber(403)},,floating,2026-01-01,2026-12-15\n` +
    `370303001001007009990101,vacant,,,,,,\n` +
    `${OTHER_ROOM},castle,,,,,,\n`;

  it('imports the valid rows and reports every bad one by line and field', async () => {
    const messages = await importCsv(file);
    const last = messages.at(-1)!;
    expect(messages[0]).toMatchObject({ total: 5, processed: 0, done: false });
    expect(last).toMatchObject({ total: 5, processed: 5, houses: 2, persons: 2, failed: 3, done: true });
    expect(last.errors.map((e) => [e.line, e.field])).toEqual([
      [3, 'id_number'],
      [5, 'room_code'],
      [6, 'house_use'],
    ]);
    const found = await h.client.findPersons(
      { compoundId: COMPOUND, idNumber: testIdNumber(401) },
      await h.as('property_staff'),
    );
    expect(found.persons).toHaveLength(1);
    expect(found.persons[0]).toMatchObject({
      name: '王*',
      phone: '139****0401',
      kind: PersonKind.PERSON_KIND_OWNER,
    });
  });

  it('changes nothing when the same file comes again', async () => {
    const last = (await importCsv(file)).at(-1)!;
    expect(last).toMatchObject({ processed: 5, houses: 0, persons: 0, unchanged: 2, failed: 3 });
  });

  it('refuses a file that is not a registry CSV as a whole', async () => {
    await expect(importCsv('name,colour\n')).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('real population and houses', () => {
  it('lists floating-population permits that lapse soon, and registers rentals and units', async () => {
    const staff = await h.as('property_staff');
    const soon = present(
      (
        await h.client.createPerson(
          {
            compoundId: COMPOUND,
            name: '陈四',
            idNumber: testIdNumber(410),
            kind: PersonKind.PERSON_KIND_FLOATING,
            permitValidFrom: timestampFromMillis(Date.now() - 300 * DAY),
            permitValidTo: timestampFromMillis(Date.now() + 10 * DAY),
          },
          staff,
        )
      ).person,
      'person',
    );
    await h.client.createPerson(
      {
        compoundId: COMPOUND,
        name: '陈五',
        idNumber: testIdNumber(411),
        kind: PersonKind.PERSON_KIND_FLOATING,
        permitValidFrom: timestampFromMillis(Date.now()),
        permitValidTo: timestampFromMillis(Date.now() + 200 * DAY),
      },
      staff,
    );
    const due = await h.client.listExpiringPermits({ compoundId: COMPOUND, withinDays: 30 }, staff);
    expect(due.persons.map((p) => p.personId)).toContain(soon.personId);
    expect(due.persons.some((p) => p.name === '陈*' && p.personId !== soon.personId)).toBe(false);

    const house = present(
      (await h.client.upsertHouse({ roomCode: OTHER_ROOM, use: HouseUse.HOUSE_USE_VACANT }, staff)).house,
      'house',
    );
    const landlord = present(
      (
        await h.client.createPerson(
          {
            compoundId: COMPOUND,
            name: '房东',
            idNumber: testIdNumber(412),
            kind: PersonKind.PERSON_KIND_OWNER,
            roomCode: ROOM,
          },
          staff,
        )
      ).person,
      'person',
    );
    const rental = present(
      (
        await h.client.registerRental(
          {
            rental: {
              houseId: house.houseId,
              landlordPersonId: landlord.personId,
              tenantPersonId: soon.personId,
              validFrom: timestampFromMillis(Date.now()),
              validTo: timestampFromMillis(Date.now() + 180 * DAY),
            },
          },
          staff,
        )
      ).rental,
      'rental',
    );
    expect(rental.rentalId).toBeTruthy();
    const tenant = present(
      (await h.client.getPerson({ personId: soon.personId ?? '' }, staff)).person,
      'person',
    );
    expect(tenant.houseId).toBe(house.houseId);
    const after = present(
      (await h.client.upsertHouse({ roomCode: OTHER_ROOM, use: HouseUse.HOUSE_USE_RENTED }, staff)).house,
      'house',
    );
    expect(after.houseId).toBe(house.houseId);

    const shop = present(
      (
        await h.client.createOrganisation(
          {
            organisation: {
              compoundId: COMPOUND,
              name: '便民超市',
              kind: OrganisationKind.ORGANISATION_KIND_SHOP,
              addressCode: OTHER_ROOM,
              contactPersonId: landlord.personId ?? '',
            },
          },
          staff,
        )
      ).organisation,
      'organisation',
    );
    expect(shop).toMatchObject({ name: '便民超市', kind: OrganisationKind.ORGANISATION_KIND_SHOP });
  });
});
