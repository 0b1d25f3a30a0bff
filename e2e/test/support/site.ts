/**
 * A compound's people and doors as its office sets them up, through the gateway: the 一标 address
 * tree down to the rooms, doors at the kit's readers, a residents' door group, residents with
 * their credentials and grants. Everything is made by REST calls a district admin may make.
 */
import { randomInt, randomUUID } from 'node:crypto';
import {
  picture,
  sendGenericEvents,
  type Compound,
  type DeviceKit,
  type DeviceRuntime,
  type PatrolCheckIn,
} from '@anfang/simulator';
import { expect } from 'vitest';
import { s3Client } from '@anfang/testing';
import type { Rest } from './gateway.ts';
import type { LocalPlatform } from './platform.ts';

/** Address codes of a unit: building (compound + 3 digits), unit (+ 2) and its room 0101 (+ 4). */
export function unitCodes(compound: Compound, building: number, unit: number) {
  const buildingCode = `${compound.code}${String(building).padStart(3, '0')}`;
  const unitCode = `${buildingCode}${String(unit).padStart(2, '0')}`;
  return { building: buildingCode, unit: unitCode, room: `${unitCode}0101` };
}

/** The address tree from the district to one room in each unit of the unit doors given. */
export async function seedAddresses(rest: Rest, compound: Compound, doors: readonly DeviceRuntime[]) {
  const code = compound.code;
  const levels: [string, string, string, string][] = [
    [code.slice(0, 6), 'ADDRESS_LEVEL_DISTRICT', '张店区', ''],
    [code.slice(0, 9), 'ADDRESS_LEVEL_TOWN', `${compound.town}街道`, code.slice(0, 6)],
    [code.slice(0, 12), 'ADDRESS_LEVEL_COMMITTEE', compound.committee, code.slice(0, 9)],
    [code, 'ADDRESS_LEVEL_COMPOUND', compound.name, code.slice(0, 12)],
  ];
  for (const rt of doors) {
    const { building = 1, unit = 1 } = rt.device;
    const codes = unitCodes(compound, building, unit);
    levels.push(
      [codes.building, 'ADDRESS_LEVEL_BUILDING', `${building}号楼`, code],
      [codes.unit, 'ADDRESS_LEVEL_UNIT', `${unit}单元`, codes.building],
      [codes.room, 'ADDRESS_LEVEL_ROOM', '101', codes.unit],
    );
  }
  for (const [address, level, name, parentCode] of levels)
    await rest('PUT', `/v1/addresses/${address}`, { code: address, level, name, parentCode });
}

/** A door at a reader of the kit: a compound gate, or the unit door of the reader's unit. */
export async function seedDoor(rest: Rest, rt: DeviceRuntime): Promise<string> {
  const doorId = randomUUID();
  const gate = rt.device.kind === 'faceGate';
  const compound = rt.device.compound;
  await rest('PUT', `/v1/doors/${doorId}`, {
    door: {
      doorId,
      compoundId: compound.code,
      addressCode: gate ? compound.code : unitCodes(compound, rt.device.building!, rt.device.unit!).unit,
      kind: gate ? 'DOOR_KIND_COMPOUND_GATE' : 'DOOR_KIND_UNIT_DOOR',
      name: rt.device.name,
      deviceIds: [rt.device.deviceId],
    },
  });
  return doorId;
}

export async function seedDoorGroup(rest: Rest, compound: Compound, doorIds: readonly string[]) {
  const doorGroupId = randomUUID();
  await rest('PUT', `/v1/door-groups/${doorGroupId}`, {
    doorGroup: { doorGroupId, compoundId: compound.code, name: '住户门组 e2e', doorIds },
  });
  return doorGroupId;
}

/** A checksum-valid 18-character ID number (GB 11643), random enough not to repeat in a run. */
export function randomIdNumber(): string {
  const day = `1990${String(randomInt(1, 13)).padStart(2, '0')}${String(randomInt(1, 29)).padStart(2, '0')}`;
  const body = `370303${day}${String(randomInt(0, 1000)).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * weights[i]!;
  return body + '10X98765432'[sum % 11]!;
}

export const randomCard = (): string => `E2E${randomInt(1e8, 1e9)}`;
export const randomPhone = (): string => `139${randomInt(1e7, 1e8)}`;

/** An enrolment photo in the install's bucket, as the office's enrolment kiosk stores it. */
export async function enrolmentImage(platform: LocalPlatform): Promise<string> {
  const key = `identity/enrolment/${randomUUID()}.jpg`;
  const photo = picture('face', randomInt(1e6));
  await s3Client().putObject(`anfang-${platform.namespace}`, key, photo, photo.length, {
    'Content-Type': 'image/jpeg',
  });
  return key;
}

/**
 * A resident of `room` with a card, a face (the terminals' template id `face.ref`, enrolled
 * from `face.imageKey`) when given, and a grant on the door group.
 */
export async function seedResident(
  rest: Rest,
  options: {
    compound: Compound;
    room: string;
    doorGroupId: string;
    card: string;
    face?: { ref: string; imageKey: string };
  },
): Promise<{ personId: string; cardCredentialId: string }> {
  const { person } = await rest<{ person: { personId: string } }>('POST', '/v1/persons', {
    compoundId: options.compound.code,
    name: '李建国',
    idNumber: randomIdNumber(),
    phone: randomPhone(),
    kind: 'PERSON_KIND_OWNER',
    roomCode: options.room,
  });
  // A face is never the only way in: the card comes first.
  const { credential } = await rest<{ credential: { credentialId: string } }>(
    'POST',
    `/v1/persons/${person.personId}/credentials`,
    {
      type: 'CREDENTIAL_TYPE_CARD',
      value: options.card,
    },
  );
  if (options.face)
    await rest('POST', `/v1/persons/${person.personId}/credentials`, {
      type: 'CREDENTIAL_TYPE_FACE',
      value: options.face.ref,
      faceImageKey: options.face.imageKey,
    });
  await rest('POST', '/v1/grants', {
    grant: { personId: person.personId, doorGroupId: options.doorGroupId, role: 'PERSON_ROLE_RESIDENT' },
  });
  return { personId: person.personId, cardCredentialId: credential.credentialId };
}

/**
 * A unit door of the kit set up with one resident of its unit: the addresses, the door, a door
 * group of that door alone, and the resident with a new card (and a face when given).
 */
export async function residentOfDoor(
  rest: Rest,
  door: DeviceRuntime,
  face?: { ref: string; imageKey: string },
): Promise<{ doorId: string; card: string; personId: string; cardCredentialId: string }> {
  const compound = door.device.compound;
  await seedAddresses(rest, compound, [door]);
  const doorId = await seedDoor(rest, door);
  const doorGroupId = await seedDoorGroup(rest, compound, [doorId]);
  const card = randomCard();
  const resident = await seedResident(rest, {
    compound,
    room: unitCodes(compound, door.device.building!, door.device.unit!).room,
    doorGroupId,
    card,
    ...(face ? { face } : {}),
  });
  return { doorId, card, ...resident };
}

export interface EndedRound {
  /** The two generic patrol readers of the compound, the route's checkpoints in order. */
  readonly readers: readonly [DeviceRuntime, DeviceRuntime];
  readonly checkpointIds: readonly [string, string];
  readonly routeId: string;
  /** When the round started (the stops are due at +0 and +1 minute, a minute's tolerance each). */
  readonly start: Date;
  /** The guard's tap at the `stop`th checkpoint `afterStartMs` into the round, uploaded now. */
  tap(stop: 0 | 1, afterStartMs: number): Promise<void>;
}

/**
 * A patrol round over two checkpoints of the compound, walked by a guard of its own, that started
 * six minutes ago (Beijing time) and ended four minutes ago: whatever the time of day it is over,
 * and the scheduler closes it on its next pass. Taps are uploaded late, as a wand does.
 */
export async function endedRound(rest: Rest, kit: DeviceKit, compound: Compound): Promise<EndedRound> {
  const [first, second] = kit.devices.filter(
    (rt) =>
      rt.device.compound === compound && rt.device.kind === 'patrol' && rt.device.protocol === 'generic',
  );
  if (!first || !second) throw new Error(`compound ${compound.code} has no two generic patrol readers`);
  const tag = (what: string) => `E2E-${what}-${randomInt(1e6, 1e7)}`;
  const tags = [tag('cp1'), tag('cp2')] as const;
  const checkpointIds: string[] = [];
  for (const [i, rt] of [first, second].entries()) {
    const { checkpoint } = await rest<{ checkpoint: { checkpointId: string } }>(
      'POST',
      '/v1/patrol/checkpoints',
      {
        checkpoint: { compoundId: compound.code, name: rt.device.name, tagId: tags[i] },
      },
    );
    checkpointIds.push(checkpoint.checkpointId);
  }
  const guardTag = tag('guard');
  const { guard } = await rest<{ guard: { guardId: string } }>('POST', '/v1/patrol/guards', {
    guard: { compoundId: compound.code, name: '保安 e2e', tagId: guardTag },
  });
  const { route } = await rest<{ route: { routeId: string } }>('POST', '/v1/patrol/routes', {
    route: {
      compoundId: compound.code,
      name: '夜巡 e2e',
      stops: [
        { checkpointId: checkpointIds[0], minutesFromPrevious: 0, toleranceMinutes: 1 },
        { checkpointId: checkpointIds[1], minutesFromPrevious: 1, toleranceMinutes: 1 },
      ],
    },
  });
  const start = new Date(Math.floor((Date.now() - 6 * 60_000) / 60_000) * 60_000);
  const local = new Date(start.getTime() + 8 * 3600_000);
  const day = local.toISOString().slice(0, 10);
  await rest('POST', '/v1/patrol/schedules', {
    schedule: {
      compoundId: compound.code,
      routeId: route.routeId,
      guardId: guard.guardId,
      shiftName: '夜班 e2e',
      weekdays: [local.getUTCDay() === 0 ? 7 : local.getUTCDay()],
      startTime: local.toISOString().slice(11, 16),
      utcOffsetMinutes: 480,
      validFrom: day,
      validUntil: day,
    },
  });
  const readers = [first, second] as const;
  return {
    readers,
    checkpointIds: [checkpointIds[0]!, checkpointIds[1]!],
    routeId: route.routeId,
    start,
    async tap(stop, afterStartMs) {
      const rt = readers[stop];
      const event = kit.event<PatrolCheckIn>(rt, { type: 'patrol', guardTag, checkpointTag: tags[stop] });
      const delivery = await sendGenericEvents(rt, kit.io, [
        { ...event, deviceTime: new Date(start.getTime() + afterStartMs) },
      ]);
      expect(delivery, delivery.reason).toMatchObject({ accepted: 1 });
    },
  };
}
