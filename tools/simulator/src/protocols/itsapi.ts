/**
 * Dahua ITSAPI tollgate cameras (../shared/protocols/VENDOR-PUSH.md): KeepAlive and TollgateInfo
 * JSON; the camera resends until it is answered `{"Result": true}`. Like the cameras in the
 * field, it sends Digest with an empty realm, nonce and qop unless the platform challenges.
 */
import { createHash } from 'node:crypto';
import type { PlateCapture } from '../events.ts';
import { dahuaTime } from '../events.ts';
import { picture } from '../jpeg.ts';
import { DigestSession } from '../transport.ts';
import { deviceNow, shortReason, type Delivery, type DeviceRuntime, type ProtocolIo } from './types.ts';

export const KEEPALIVE_PATH = '/NotificationInfo/KeepAlive';
export const TOLLGATE_PATH = '/NotificationInfo/TollgateInfo';

const DAHUA_PLATE_COLOUR: Record<string, string> = {
  blue: 'Blue',
  yellow: 'Yellow',
  green: 'ShadowGreen',
  white: 'White',
  black: 'Black',
};
const DAHUA_VEHICLE: Record<string, string> = {
  sedan: 'SaloonCar',
  suv: 'SUV',
  mpv: 'MPV',
  van: 'MiniVan',
  truck: 'LightTruck',
};

/** The TollgateInfo body of a plate capture. */
export function tollgateInfo(event: PlateCapture): Record<string, unknown> {
  const time = dahuaTime(event.deviceTime);
  return {
    Picture: {
      NormalPic: {
        Content: picture('vehicle', event.seed).toString('base64'),
        PicName: `${time.replace(/\D/g, '')}_${event.serial}.jpg`,
      },
      Plate: {
        BoundingBox: [812, 604, 1002, 658],
        Channel: 0,
        Confidence: event.confidence,
        IsExist: event.plate !== '',
        PlateColor: DAHUA_PLATE_COLOUR[event.plateColour] ?? 'Unknown',
        PlateNumber: event.plate,
        PlateType: event.plateColour === 'green' ? 'NewEnergy' : 'Normal',
        Region: event.plate.slice(0, 1),
        UploadNum: event.serial,
      },
      Vehicle: {
        VehicleBoundingBox: [600, 300, 1400, 1000],
        VehicleColor:
          event.vehicleColour === 'gray'
            ? 'Gray'
            : event.vehicleColour.charAt(0).toUpperCase() + event.vehicleColour.slice(1),
        VehicleSeries: '',
        VehicleSign: event.brand,
        VehicleType: DAHUA_VEHICLE[event.vehicleKind] ?? 'Unknown',
      },
      SnapInfo: {
        AccurateTime: time,
        AllowUser: event.list === 'allow',
        AllowUserEndTime: event.list === 'allow' ? '2030-12-31 23:59:59' : '',
        BlockUser: event.list === 'block',
        BlockUserEndTime: event.list === 'block' ? '2030-12-31 23:59:59' : '',
        Direction: event.device.direction === 2 ? 'Reverse' : 'Obverse',
        Lane: event.lane,
        TimeZone: 13,
      },
    },
  };
}

/** Digest with empty realm, nonce and no qop (RFC 2069 form with empty challenge values). */
export function emptyRealmDigest(username: string, password: string, method: string, uri: string): string {
  const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');
  const response = md5(`${md5(`${username}::${password}`)}::${md5(`${method}:${uri}`)}`);
  return `Digest username="${username}", realm="", nonce="", uri="${uri}", response="${response}"`;
}

async function post(rt: DeviceRuntime, io: ProtocolIo, path: string, json: unknown) {
  rt.digest ??= new DigestSession('admin', rt.secret);
  const body = Buffer.from(JSON.stringify(json));
  return rt.digest.send(io.transport, {
    method: 'POST',
    path,
    body,
    headers: {
      'content-type': 'application/json',
      authorization: emptyRealmDigest('admin', rt.secret, 'POST', path),
    },
    sourceAddress: rt.device.ipAddress,
  });
}

function result(status: number, body: Buffer): Delivery {
  let ok: boolean;
  try {
    ok = (JSON.parse(body.toString('utf8')) as { Result?: unknown }).Result === true;
  } catch {
    ok = false;
  }
  return ok && status === 200
    ? { accepted: 1, rejected: 0, status }
    : { accepted: 0, rejected: 1, status, reason: shortReason(body) };
}

export async function sendTollgate(
  rt: DeviceRuntime,
  io: ProtocolIo,
  event: PlateCapture,
): Promise<Delivery> {
  const res = await post(rt, io, TOLLGATE_PATH, tollgateInfo(event));
  return result(res.status, res.body);
}

export async function sendKeepAlive(rt: DeviceRuntime, io: ProtocolIo): Promise<Delivery> {
  const res = await post(rt, io, KEEPALIVE_PATH, {
    DeviceID: rt.device.serialNumber,
    Time: dahuaTime(deviceNow(rt, io.now())),
  });
  return result(res.status, res.body);
}
