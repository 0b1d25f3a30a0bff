/**
 * Registry events against real Postgres and Kafka: registering, changing, renting and removing
 * persons and houses publishes PersonChanged / HouseChanged through the outbox, keyed by the
 * record, with the house's standard address — name and ID number only sealed (the row's own
 * ciphertext, which opens with the data keys and the person id) and masked.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { createBus, type Bus } from '@anfang/platform/bus';
import { createFieldCipher, parseDataKeys } from '@anfang/platform/crypto';
import { createLogger } from '@anfang/platform/log';
import { infraEnv, waitFor, watchTopics, type TopicWatch } from '@anfang/testing';
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

const { PersonKind, HouseUse, RegistryChange } = anfang.identity.v1;
type PersonChanged = anfang.identity.v1.PersonChanged;
type HouseChanged = anfang.identity.v1.HouseChanged;

let h: Harness;
let bus: Bus;
let watch: TopicWatch;

beforeAll(async () => {
  bus = await createBus({
    kind: 'kafka',
    brokers: infraEnv().kafkaBrokers,
    clientId: 'identity-registry-events',
    logger: createLogger({ service: 'identity-test', level: 'warn' }),
  });
  h = await startIdentity('identity_registry_events', new Set());
  watch = await watchTopics(bus, {
    label: 'identity-registry-events',
    topics: [topics.identityPersonRegistry, topics.identityHouseRegistry],
    producer: h.group,
  });
  await seedSite(h, new Set());
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await watch?.close();
  await bus?.close();
});

const personEvents = (personId: string): PersonChanged[] =>
  watch.events<PersonChanged>(topics.identityPersonRegistry).filter((e) => e.person?.personId === personId);
const houseEvents = (roomCode: string): HouseChanged[] =>
  watch.events<HouseChanged>(topics.identityHouseRegistry).filter((e) => e.house?.roomCode === roomCode);
const wait = { timeoutMs: 30_000 };

describe('registry events', () => {
  it('a resident registered, moved and removed: one event each, sealed and masked, with the house', async () => {
    const staff = await h.as('property_staff');
    const idNumber = testIdNumber(701);
    const person = present(
      (
        await h.client.createPerson(
          {
            compoundId: COMPOUND,
            name: '王小明',
            idNumber,
            kind: PersonKind.PERSON_KIND_OWNER,
            roomCode: ROOM,
          },
          staff,
        )
      ).person,
      'person',
    );
    const personId = person.personId!;
    const registered = await waitFor(() => personEvents(personId)[0], wait);
    expect(registered.change).toBe(RegistryChange.REGISTRY_CHANGE_REGISTERED);
    expect(registered.meta?.compoundId).toBe(COMPOUND);
    const p = registered.person!;
    expect(p).toMatchObject({
      compoundId: COMPOUND,
      kind: PersonKind.PERSON_KIND_OWNER,
      houseId: person.houseId,
      roomCode: ROOM,
      idNumberMasked: expect.stringMatching(/^\d{3}\*+\w{4}$/),
    });
    expect(p.address).not.toBe('');
    expect(p.nameMasked).not.toContain('小明');
    // Nothing personal in clear anywhere in the message.
    const bytes = Buffer.from(topics.identityPersonRegistry.payload.encode(registered)).toString();
    expect(bytes).not.toContain(idNumber);
    expect(bytes).not.toContain('王小明');
    // The seal is identity's own: the data keys and the person id open it, another id does not.
    const cipher = createFieldCipher(parseDataKeys(h.dataKeys));
    expect(cipher.decryptString(p.idNumberSealed!, personId)).toBe(idNumber);
    expect(cipher.decryptString(p.nameSealed!, personId)).toBe('王小明');
    expect(() => cipher.decryptString(p.idNumberSealed!, randomUUID())).toThrow();

    // The house registered with the person (owner-occupied).
    const house = await waitFor(
      () => houseEvents(ROOM).find((e) => e.house?.houseId === person.houseId),
      wait,
    );
    expect(house.change).toBe(RegistryChange.REGISTRY_CHANGE_REGISTERED);
    expect(house.house?.use).toBe(HouseUse.HOUSE_USE_OWNER_OCCUPIED);

    await h.client.updatePerson(
      { personId, name: '王小明', kind: PersonKind.PERSON_KIND_OWNER, roomCode: OTHER_ROOM },
      staff,
    );
    const moved = await waitFor(() => personEvents(personId)[1], wait);
    expect(moved.change).toBe(RegistryChange.REGISTRY_CHANGE_UPDATED);
    expect(moved.person?.roomCode).toBe(OTHER_ROOM);

    await h.client.removePerson({ personId, reason: 'moved out' }, staff);
    const removed = await waitFor(() => personEvents(personId)[2], wait);
    expect(removed.change).toBe(RegistryChange.REGISTRY_CHANGE_REMOVED);
    expect(removed.person?.idNumberSealed).not.toBe('');
    expect(personEvents(personId)).toHaveLength(3);
  });

  it("a house's use changed is an update; the same use again publishes nothing", async () => {
    const staff = await h.as('property_staff');
    await h.client.upsertHouse({ roomCode: OTHER_ROOM, use: HouseUse.HOUSE_USE_VACANT }, staff);
    const vacant = await waitFor(
      () => houseEvents(OTHER_ROOM).find((e) => e.house?.use === HouseUse.HOUSE_USE_VACANT),
      wait,
    );
    const before = houseEvents(OTHER_ROOM).length;
    await h.client.upsertHouse({ roomCode: OTHER_ROOM, use: HouseUse.HOUSE_USE_VACANT }, staff);
    await h.client.upsertHouse({ roomCode: OTHER_ROOM, use: HouseUse.HOUSE_USE_COMMERCIAL }, staff);
    const commercial = await waitFor(
      () => houseEvents(OTHER_ROOM).find((e) => e.house?.use === HouseUse.HOUSE_USE_COMMERCIAL),
      wait,
    );
    expect(commercial.change).toBe(RegistryChange.REGISTRY_CHANGE_UPDATED);
    expect(commercial.house?.houseId).toBe(vacant.house?.houseId);
    // The unchanged upsert in between published nothing (the events of one house are in order).
    expect(houseEvents(OTHER_ROOM).length).toBe(before + 1);
  });
});
