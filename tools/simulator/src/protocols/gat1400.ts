/**
 * GA/T 1400 capture cameras (../shared/protocols/GAT1400.md): Register with HTTP Digest,
 * Keepalive (re-register on 401), and POST /VIID/Faces and /VIID/Persons with base64 pictures;
 * GA/T plate cameras POST /VIID/MotorVehicles.
 */
import type { FaceSighting, PlateCapture } from '../events.ts';
import { gatTime } from '../events.ts';
import { picture } from '../jpeg.ts';
import { DigestSession } from '../transport.ts';
import { shortReason, type Delivery, type DeviceRuntime, type ProtocolIo } from './types.ts';

const CONTENT_TYPE = 'application/VIID+JSON';

/** 41 chars: device (20) + kind (02 image) + time (14) + serial (5). */
export function gatImageId(deviceGatId: string, time: Date, serial: number): string {
  return `${deviceGatId}02${gatTime(time)}${String(serial % 100000).padStart(5, '0')}`;
}

/** 48 chars: the 41-char source id + object kind (06 face, 01 person) + serial (5). */
export function gatObjectId(sourceId: string, kind: '01' | '02' | '06', serial: number): string {
  return `${sourceId}${kind}${String(serial % 100000).padStart(5, '0')}`;
}

function subImage(
  deviceId: string,
  imageId: string,
  type: string,
  shotTime: string,
  bytes: Buffer,
): Record<string, unknown> {
  return {
    ImageID: imageId,
    EventSort: 1,
    DeviceID: deviceId,
    StoragePath: '',
    Type: type,
    FileFormat: 'Jpeg',
    ShotTime: shotTime,
    Width: 64,
    Height: 80,
    Data: bytes.toString('base64'),
  };
}

/** `{"FaceListObject":{"FaceObject":[…]}}` for a sighting (one object per face). */
export function faceListBody(sighting: FaceSighting): {
  FaceListObject: { FaceObject: Record<string, unknown>[] };
} {
  const gatId = sighting.device.gat1400Id;
  const shot = gatTime(sighting.deviceTime);
  const sourceId = gatImageId(gatId, sighting.deviceTime, sighting.serial);
  const faces = Array.from({ length: sighting.faces }, (_, i) => {
    const left = 200 + i * 180;
    return {
      FaceID: gatObjectId(sourceId, '06', i + 1),
      InfoKind: 1,
      SourceID: sourceId,
      DeviceID: gatId,
      LeftTopX: left,
      LeftTopY: 120,
      RightBtmX: left + 96,
      RightBtmY: 240,
      ShotTime: shot,
      FaceAppearTime: gatTime(new Date(sighting.deviceTime.getTime() - 1500)),
      FaceDisAppearTime: shot,
      GenderCode: sighting.gender,
      SubImageList: {
        SubImageInfoObject: [
          subImage(gatId, sourceId, '11', shot, picture('face', sighting.seed + i)),
          ...(i === 0
            ? [
                subImage(
                  gatId,
                  sourceId.slice(0, -5) + String((sighting.serial + 50000) % 100000).padStart(5, '0'),
                  '14',
                  shot,
                  picture('scene', sighting.seed),
                ),
              ]
            : []),
        ],
      },
    };
  });
  return { FaceListObject: { FaceObject: faces } };
}

/** `{"PersonListObject":{"PersonObject":[…]}}`: the whole person of the sighting. */
export function personListBody(sighting: FaceSighting): {
  PersonListObject: { PersonObject: Record<string, unknown>[] };
} {
  const gatId = sighting.device.gat1400Id;
  const shot = gatTime(sighting.deviceTime);
  const sourceId = gatImageId(gatId, sighting.deviceTime, sighting.serial);
  return {
    PersonListObject: {
      PersonObject: [
        {
          PersonID: gatObjectId(sourceId, '01', 1),
          InfoKind: 1,
          SourceID: sourceId,
          DeviceID: gatId,
          LeftTopX: 180,
          LeftTopY: 80,
          RightBtmX: 320,
          RightBtmY: 560,
          PersonAppearTime: shot,
          PersonDisAppearTime: shot,
          GenderCode: sighting.gender,
          SubImageList: {
            SubImageInfoObject: [subImage(gatId, sourceId, '10', shot, picture('scene', sighting.seed + 7))],
          },
        },
      ],
    },
  };
}

/** GA/T colour codes (1 black, 2 white, 3 grey, 4 red, 5 blue, 6 yellow, 8 brown, 9 green). */
const GAT_COLOUR: Record<string, string> = {
  black: '1',
  white: '2',
  gray: '3',
  silver: '3',
  red: '4',
  blue: '5',
  yellow: '6',
  brown: '8',
  green: '9',
};

/** GA 24.4 vehicle classes. */
const GAT_VEHICLE_CLASS: Record<string, string> = {
  sedan: 'K33',
  suv: 'K32',
  mpv: 'K31',
  van: 'K41',
  truck: 'H31',
};

/** `{"MotorVehicleListObject":{"MotorVehicleObject":[…]}}` for a plate camera's pass. */
export function motorVehicleListBody(capture: PlateCapture): {
  MotorVehicleListObject: { MotorVehicleObject: Record<string, unknown>[] };
} {
  const gatId = capture.device.gat1400Id;
  const shot = gatTime(capture.deviceTime);
  const sourceId = gatImageId(gatId, capture.deviceTime, capture.serial);
  const plateImageId = sourceId.slice(0, -5) + String((capture.serial + 50000) % 100000).padStart(5, '0');
  return {
    MotorVehicleListObject: {
      MotorVehicleObject: [
        {
          MotorVehicleID: gatObjectId(sourceId, '02', 1),
          InfoKind: 1,
          SourceID: sourceId,
          DeviceID: gatId,
          LeftTopX: 420,
          LeftTopY: 310,
          RightBtmX: 1480,
          RightBtmY: 1020,
          LaneNo: capture.lane,
          HasPlate: capture.plate === '' ? '0' : '1',
          PlateClass: capture.plateColour === 'yellow' ? '01' : '02',
          PlateColor: capture.plate === '' ? '' : GAT_COLOUR[capture.plateColour],
          PlateNo: capture.plate === '' ? '无车牌' : capture.plate,
          PlateReliability: String(capture.confidence),
          VehicleClass: GAT_VEHICLE_CLASS[capture.vehicleKind],
          VehicleBrand: capture.brand,
          VehicleColor: GAT_COLOUR[capture.vehicleColour],
          PassTime: shot,
          InOut: capture.device.direction === 2 ? 'out' : 'in',
          SubImageList: {
            SubImageInfoObject: [
              subImage(gatId, sourceId, '01', shot, picture('vehicle', capture.seed)),
              ...(capture.plate === ''
                ? []
                : [subImage(gatId, plateImageId, '02', shot, picture('plate', capture.seed))]),
            ],
          },
        },
      ],
    },
  };
}

function headers(rt: DeviceRuntime): Record<string, string> {
  return { 'content-type': CONTENT_TYPE, 'user-identify': rt.device.gat1400Id };
}

async function postJson(
  rt: DeviceRuntime,
  io: ProtocolIo,
  path: string,
  json: unknown,
  digest?: DigestSession,
) {
  const req = {
    method: 'POST' as const,
    path,
    body: Buffer.from(JSON.stringify(json)),
    headers: headers(rt),
    sourceAddress: rt.device.ipAddress,
  };
  return digest ? digest.send(io.transport, req) : io.transport.request(req);
}

export async function register(rt: DeviceRuntime, io: ProtocolIo): Promise<Delivery> {
  // Each registration answers a fresh challenge: the platform's nonces are single-use.
  const digest = new DigestSession(rt.device.gat1400Id, rt.secret);
  const res = await postJson(
    rt,
    io,
    '/VIID/System/Register',
    { RegisterObject: { DeviceID: rt.device.gat1400Id } },
    digest,
  );
  rt.registered = res.status === 200 || res.status === 201;
  return {
    accepted: rt.registered ? 1 : 0,
    rejected: rt.registered ? 0 : 1,
    status: res.status,
    ...(rt.registered ? {} : { reason: shortReason(res.body) }),
  };
}

export async function keepalive(rt: DeviceRuntime, io: ProtocolIo): Promise<Delivery> {
  if (!rt.registered) return register(rt, io);
  const res = await postJson(rt, io, '/VIID/System/Keepalive', {
    KeepaliveObject: { DeviceID: rt.device.gat1400Id },
  });
  if (res.status === 401) {
    rt.registered = false;
    return register(rt, io);
  }
  return { accepted: res.status === 200 ? 1 : 0, rejected: res.status === 200 ? 0 : 1, status: res.status };
}

export async function unregister(rt: DeviceRuntime, io: ProtocolIo): Promise<void> {
  if (!rt.registered) return;
  rt.registered = false;
  await postJson(
    rt,
    io,
    '/VIID/System/UnRegister',
    { UnRegisterObject: { DeviceID: rt.device.gat1400Id } },
    new DigestSession(rt.device.gat1400Id, rt.secret),
  ).catch(() => undefined);
}

/** Counts the per-object answers of a batch (`StatusCode` 0 as number or string is OK). */
export function countStatuses(
  body: Buffer,
  objects: number,
): { accepted: number; rejected: number; reason?: string } {
  try {
    const doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const list = (doc['ResponseStatusListObject'] as { ResponseStatusObject?: unknown } | undefined)
      ?.ResponseStatusObject;
    const items = (Array.isArray(list) ? list : list ? [list] : [doc['ResponseStatusObject']]).filter(
      Boolean,
    ) as {
      StatusCode?: unknown;
      StatusString?: string;
    }[];
    const bad = items.filter((i) => Number(i.StatusCode) !== 0);
    return {
      accepted: items.length - bad.length,
      rejected: bad.length,
      ...(bad[0]?.StatusString ? { reason: bad[0].StatusString } : {}),
    };
  } catch {
    return { accepted: 0, rejected: objects, reason: 'unreadable answer' };
  }
}

export function pushSighting(rt: DeviceRuntime, io: ProtocolIo, sighting: FaceSighting): Promise<Delivery> {
  const batches: [string, unknown, number][] = [['/VIID/Faces', faceListBody(sighting), sighting.faces]];
  if (sighting.withPerson) batches.push(['/VIID/Persons', personListBody(sighting), 1]);
  return pushBatches(rt, io, batches);
}

export function pushMotorVehicle(
  rt: DeviceRuntime,
  io: ProtocolIo,
  capture: PlateCapture,
): Promise<Delivery> {
  return pushBatches(rt, io, [['/VIID/MotorVehicles', motorVehicleListBody(capture), 1]]);
}

/** Posts object batches (registering first if needed, again on 401), counting per-object answers. */
async function pushBatches(
  rt: DeviceRuntime,
  io: ProtocolIo,
  batches: readonly [string, unknown, number][],
): Promise<Delivery> {
  const total = batches.reduce((n, [, , count]) => n + count, 0);
  if (!rt.registered) {
    const r = await register(rt, io);
    if (!rt.registered)
      return {
        accepted: 0,
        rejected: total,
        status: r.status,
        ...(r.reason ? { reason: r.reason } : {}),
      };
  }
  let accepted = 0;
  let rejected = 0;
  let status = 0;
  let reason: string | undefined;
  for (const [path, body, count] of batches) {
    let res = await postJson(rt, io, path, body);
    if (res.status === 401) {
      rt.registered = false;
      await register(rt, io);
      res = await postJson(rt, io, path, body);
    }
    status = res.status;
    if (res.status === 200 || res.status === 201) {
      const c = countStatuses(res.body, count);
      accepted += c.accepted;
      rejected += c.rejected;
      reason ??= c.reason;
    } else {
      rejected += count;
      reason ??= shortReason(res.body);
    }
  }
  return { accepted, rejected, status, ...(reason ? { reason } : {}) };
}

/** The time a camera reads to set its clock (GET /VIID/System/Time). */
export async function platformTime(rt: DeviceRuntime, io: ProtocolIo): Promise<string | undefined> {
  const res = await io.transport.request({
    method: 'GET',
    path: '/VIID/System/Time',
    headers: headers(rt),
    sourceAddress: rt.device.ipAddress,
  });
  if (res.status !== 200) return undefined;
  try {
    return (JSON.parse(res.body.toString('utf8')) as { SystemTimeObject?: { LocalTime?: string } })
      .SystemTimeObject?.LocalTime;
  } catch {
    return undefined;
  }
}
