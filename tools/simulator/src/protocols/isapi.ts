/**
 * Hikvision ISAPI alarm-server push (../shared/protocols/VENDOR-PUSH.md): access terminals send
 * JSON `AccessControllerEvent` (multipart with the face picture), ANPR and perimeter cameras XML
 * `EventNotificationAlert` (multipart with their pictures), and every device a `heartBeat` alert.
 * HTTP Digest is answered when the platform challenges.
 */
import { randomBytes } from 'node:crypto';
import { XMLBuilder } from 'fast-xml-parser';
import type { SimDevice } from '../catalog.ts';
import type {
  CardAccess,
  DoorAlarm,
  FaceAccess,
  PerimeterTrigger,
  PlateCapture,
  SimEvent,
} from '../events.ts';
import { isoBeijing } from '../events.ts';
import { picture } from '../jpeg.ts';
import { DigestSession } from '../transport.ts';
import {
  allOrNothing,
  deviceNow,
  shortReason,
  type Delivery,
  type DeviceRuntime,
  type ProtocolIo,
} from './types.ts';

export const ISAPI_PATH = '/ISAPI/Event/notification/alert';

const xml = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: false,
  suppressEmptyNode: false,
});

export function alertXml(alert: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${
    xml.build({
      EventNotificationAlert: {
        '@_version': '2.0',
        '@_xmlns': 'http://www.isapi.org/ver20/XMLSchema',
        ...alert,
      },
    }) as string
  }`;
}

function common(
  device: SimDevice,
  time: Date,
  eventType: string,
  activePostCount: number,
  retransmission: boolean,
) {
  return {
    ipAddress: device.ipAddress,
    portNo: 80,
    protocol: 'HTTP',
    macAddress: device.macAddress,
    channelID: 1,
    dateTime: isoBeijing(time),
    activePostCount,
    eventType,
    eventState: 'active',
    eventDescription: EVENT_DESCRIPTION[eventType] ?? eventType,
    ...(retransmission ? { isDataRetransmission: true } : {}),
  };
}

const EVENT_DESCRIPTION: Record<string, string> = {
  ANPR: 'ANPR',
  fielddetection: 'fielddetection alarm',
  linedetection: 'linedetection alarm',
  regionEntrance: 'regionEntrance alarm',
  heartBeat: 'heartBeat',
  AccessControllerEvent: 'Access Controller Event',
};

const ISAPI_PLATE_COLOUR: Record<string, string> = {
  blue: 'blue',
  yellow: 'yellow',
  green: 'newEnergyGreen',
  white: 'white',
  black: 'black',
};

/** A UUID the device gives each alert (stable across its resends). */
export function alertUuid(event: SimEvent): string {
  const h = Buffer.from(`${event.device.serialNumber}:${event.serial}`)
    .toString('hex')
    .padEnd(32, '0')
    .slice(-32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function anprAlert(event: PlateCapture, retransmission = false): Record<string, unknown> {
  const forward = event.device.direction !== 2;
  return {
    ...common(event.device, event.deviceTime, 'ANPR', event.serial, retransmission),
    UUID: alertUuid(event),
    ANPR: {
      country: 'CHN',
      licensePlate: event.plate || '无车牌',
      line: event.lane,
      direction: forward ? 'forward' : 'reverse',
      confidenceLevel: event.confidence,
      plateType: 'civil',
      plateColor: ISAPI_PLATE_COLOUR[event.plateColour] ?? 'other',
      vehicleType: event.vehicleKind === 'sedan' ? 'vehicle' : event.vehicleKind,
      detectDir: forward ? 1 : 2,
      vehicleInfo: {
        index: event.serial,
        color: event.vehicleColour,
        colorDepth: 2,
        vehicleLogoRecog: event.brand,
      },
      pictureInfoList: {
        pictureInfo: [
          {
            fileName: 'licensePlatePicture.jpg',
            type: 'licensePlatePicture',
            absTime: isoBeijing(event.deviceTime, true),
          },
          {
            fileName: 'vehiclePicture.jpg',
            type: 'vehiclePicture',
            absTime: isoBeijing(event.deviceTime, true),
          },
        ],
      },
      vehicleListName:
        event.list === 'allow' ? 'allowList' : event.list === 'block' ? 'blockList' : 'otherList',
    },
  };
}

export function perimeterAlert(event: PerimeterTrigger, retransmission = false): Record<string, unknown> {
  const type = event.device.perimeterKind ?? 'fielddetection';
  return {
    ...common(event.device, event.deviceTime, type, event.serial, retransmission),
    eventState: event.state,
    UUID: alertUuid(event),
    DetectionRegionList: {
      DetectionRegionEntry: [
        {
          regionID: event.regionId,
          sensitivityLevel: 50,
          detectionTarget: event.target,
          TargetRect: { X: 0.31, Y: 0.42, width: 0.08, height: 0.21 },
        },
      ],
    },
  };
}

export function heartbeatAlert(device: SimDevice, time: Date): Record<string, unknown> {
  return { ...common(device, time, 'heartBeat', 0, false), eventState: 'inactive' };
}

/** JSON `AccessControllerEvent` of a face gate / unit door (major 5 = event). */
export function accessControllerEvent(
  event: FaceAccess | CardAccess | DoorAlarm,
  retransmission = false,
): Record<string, unknown> {
  const minor =
    event.type === 'faceAccess'
      ? event.passed
        ? 75
        : 76
      : event.type === 'cardAccess'
        ? event.valid
          ? 1
          : 9
        : event.minor;
  const ace: Record<string, unknown> = {
    deviceName: event.device.name,
    majorEventType: 5,
    subEventType: minor,
    cardReaderNo: event.device.direction === 2 ? 2 : 1,
    doorNo: 1,
    serialNo: event.serial,
    currentVerifyMode: event.type === 'cardAccess' ? 'card' : 'face',
    mask: 'no',
    frontSerialNo: event.serial - 1,
    serialNumber: event.device.serialNumber,
  };
  if (event.type === 'faceAccess') {
    if (event.personRef)
      Object.assign(ace, { employeeNoString: event.personRef, name: event.personName, userType: 'normal' });
    ace['similarity'] = Math.round(event.similarity * 100);
    if (event.liveness === 'spoof') ace['attendanceStatus'] = 'undefined';
    ace['picturesNumber'] = 1;
  }
  if (event.type === 'cardAccess') Object.assign(ace, { cardNo: event.cardNo, cardType: 1 });
  return {
    ...common(event.device, event.deviceTime, 'AccessControllerEvent', event.serial, retransmission),
    AccessControllerEvent: ace,
  };
}

export interface MultipartPart {
  readonly name: string;
  readonly filename?: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/** multipart/form-data as the devices send it: document first, then the pictures. */
export function multipart(parts: readonly MultipartPart[]): { contentType: string; body: Buffer } {
  const boundary = `MIME_boundary_${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ''}`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${part.contentType}\r\nContent-Length: ${part.body.length}\r\n\r\n`,
      ),
      part.body,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** The request a device sends for one event: content type and body. */
export function isapiRequest(
  event: SimEvent,
  retransmission = false,
): { contentType: string; body: Buffer } | undefined {
  const jpeg = (name: string, kind: Parameters<typeof picture>[0], seed: number): MultipartPart => ({
    name,
    filename: name,
    contentType: 'image/jpeg',
    body: picture(kind, seed),
  });
  switch (event.type) {
    case 'faceAccess':
      return multipart([
        {
          name: 'AccessControllerEvent',
          contentType: 'application/json',
          body: Buffer.from(JSON.stringify(accessControllerEvent(event, retransmission))),
        },
        jpeg('faceImage.jpg', 'face', event.seed),
      ]);
    case 'cardAccess':
    case 'doorAlarm':
      return {
        contentType: 'application/json',
        body: Buffer.from(JSON.stringify(accessControllerEvent(event, retransmission))),
      };
    case 'plate':
      return multipart([
        {
          name: 'anpr.xml',
          filename: 'anpr.xml',
          contentType: 'application/xml',
          body: Buffer.from(alertXml(anprAlert(event, retransmission))),
        },
        jpeg('licensePlatePicture.jpg', 'plate', event.seed),
        jpeg('vehiclePicture.jpg', 'vehicle', event.seed),
      ]);
    case 'perimeter': {
      const doc = Buffer.from(alertXml(perimeterAlert(event, retransmission)));
      // The end of an intrusion carries no picture: bare XML.
      if (event.state === 'inactive') return { contentType: 'application/xml; charset="UTF-8"', body: doc };
      return multipart([
        {
          name: `${event.device.perimeterKind ?? 'fielddetection'}.xml`,
          filename: 'alert.xml',
          contentType: 'application/xml',
          body: doc,
        },
        jpeg('detectionPicture.jpg', 'detection', event.seed),
      ]);
    }
    default:
      return undefined;
  }
}

async function push(rt: DeviceRuntime, io: ProtocolIo, contentType: string, body: Buffer) {
  rt.digest ??= new DigestSession('admin', rt.secret);
  return rt.digest.send(io.transport, {
    method: 'POST',
    path: ISAPI_PATH,
    body,
    headers: { 'content-type': contentType },
    sourceAddress: rt.device.ipAddress,
  });
}

export async function sendIsapiEvent(
  rt: DeviceRuntime,
  io: ProtocolIo,
  event: SimEvent,
  retransmission = false,
): Promise<Delivery> {
  const req = isapiRequest(event, retransmission);
  if (!req) return { accepted: 0, rejected: 0, status: 0 };
  const res = await push(rt, io, req.contentType, req.body);
  return allOrNothing(res.status, 1, shortReason(res.body));
}

export async function sendIsapiHeartbeat(rt: DeviceRuntime, io: ProtocolIo): Promise<Delivery> {
  const res = await push(
    rt,
    io,
    'application/xml; charset="UTF-8"',
    Buffer.from(alertXml(heartbeatAlert(rt.device, deviceNow(rt, io.now())))),
  );
  return allOrNothing(res.status, 1, shortReason(res.body));
}
