/**
 * Anfang's generic signed device API (`/api/v1/device/…`, device-ingest README § Generic device
 * API): patrol readers, IoT sensors, non-Hikvision face terminals and perimeter sensors.
 */
import { newNonce, signRequest } from '../auth.ts';
import type { SimEvent } from '../events.ts';
import { picture } from '../jpeg.ts';
import {
  allOrNothing,
  deviceNow,
  shortReason,
  type Delivery,
  type DeviceRuntime,
  type ProtocolIo,
} from './types.ts';

export const GENERIC_PREFIX = '/api/v1/device';

const IOT_SENSOR: Record<string, string> = {
  smoke: 'smoke',
  waterLeak: 'water_leak',
  manholeCover: 'manhole_cover',
  doorMagnet: 'door_magnet',
  temperatureHumidity: 'temperature_humidity',
  gas: 'gas',
};

const PERIMETER_SENSOR: Record<string, string> = {
  fielddetection: 'video_region_intrusion',
  linedetection: 'video_line_crossing',
  regionEntrance: 'video_region_entrance',
  infrared: 'infrared',
  microwave: 'microwave',
  vibration: 'vibration',
  electricFence: 'electric_fence',
};

const jpeg = (kind: Parameters<typeof picture>[0], seed: number) => ({
  kind:
    kind === 'face' ? 'face' : kind === 'detection' ? 'detection' : kind === 'vehicle' ? 'vehicle' : 'scene',
  contentType: 'image/jpeg',
  data: picture(kind, seed).toString('base64'),
});

/** The device's own event id: stable across resends of the same capture. */
export function genericEventId(event: SimEvent): string {
  return `${event.device.serialNumber}-${event.serial}`;
}

/** One event in the generic API's JSON shape, or undefined for events this API does not carry. */
export function genericEvent(event: SimEvent): Record<string, unknown> | undefined {
  const base = { eventId: genericEventId(event), time: event.deviceTime.toISOString() };
  const direction = event.device.direction === 1 ? 'in' : event.device.direction === 2 ? 'out' : undefined;
  switch (event.type) {
    case 'faceAccess':
      return {
        type: 'face_captured',
        ...base,
        liveness: event.liveness === 'live' ? 'genuine' : 'spoof_photo',
        livenessScore: event.liveness === 'live' ? 0.97 : 0.12,
        qualityScore: 0.86,
        ...(direction ? { direction } : {}),
        ...(event.personRef ? { personRef: event.personRef, matchScore: event.similarity } : {}),
        localDecision: event.passed ? 'allowed' : 'denied',
        images: [jpeg('face', event.seed)],
      };
    case 'cardAccess':
      return {
        type: 'credential_presented',
        ...base,
        credential: { type: event.credential ?? 'card', value: event.cardNo },
        readerNo: '1',
        ...(direction ? { direction } : {}),
        localDecision: event.valid ? 'allowed' : 'denied',
      };
    case 'plate':
      return {
        type: 'plate_read',
        ...base,
        ...(event.plate ? { plate: event.plate } : {}),
        plateColor: event.plateColour,
        vehicleColor:
          event.vehicleColour === 'gray' || event.vehicleColour === 'silver' ? 'grey' : event.vehicleColour,
        vehicleType: event.vehicleKind === 'sedan' ? 'car' : event.vehicleKind,
        vehicleBrand: event.brand,
        ...(direction ? { direction } : {}),
        lane: event.lane,
        confidence: event.confidence / 100,
        images: [jpeg('vehicle', event.seed)],
      };
    case 'perimeter':
      return {
        type: 'perimeter_triggered',
        ...base,
        sensorKind: PERIMETER_SENSOR[event.device.perimeterKind ?? 'infrared'] ?? 'infrared',
        state: event.state,
        regionId: event.regionId,
        target: event.target,
      };
    case 'analytics':
      return {
        type: 'analytics_triggered',
        ...base,
        kind: event.kind,
        state: event.state,
        regionId: event.regionId,
        target: event.target,
        confidence: event.confidence,
        vendorEventType: event.kind,
        ...(event.state === 'active' ? { images: [jpeg('detection', event.seed)] } : {}),
      };
    case 'visitorCheckIn':
      return {
        type: 'credential_presented',
        ...base,
        credential: {
          type: event.credential,
          value: event.value,
          ...(event.name ? { name: event.name } : {}),
        },
        readerNo: '1',
        direction: 'in',
        images: [jpeg('face', event.seed)],
      };
    case 'patrol':
      return {
        type: 'patrol_check_in',
        ...base,
        checkpointTagId: event.checkpointTag,
        guardTagId: event.guardTag,
        method: 'contactless',
      };
    case 'iotReading':
      return {
        type: 'iot_reading',
        ...base,
        sensorKind: IOT_SENSOR[event.sensor] ?? 'other',
        measurements: event.measurements,
        batteryPercent: event.battery,
      };
    case 'iotAlarm':
      return {
        type: 'iot_alarm',
        ...base,
        sensorKind: IOT_SENSOR[event.sensor] ?? 'other',
        state: event.state,
        alarmCode: event.code,
        description: event.description,
        measurements: event.measurements,
      };
    default:
      return undefined;
  }
}

/** The four signature headers of a request. */
export function signedHeaders(
  rt: DeviceRuntime,
  method: string,
  path: string,
  body: Buffer,
  realMs: number,
): Record<string, string> {
  const timestamp = String(deviceNow(rt, realMs).getTime());
  const nonce = newNonce();
  return {
    'x-device-id': rt.device.deviceId,
    'x-timestamp': timestamp,
    'x-nonce': nonce,
    'x-signature': signRequest({ secret: rt.secret, timestamp, nonce, method, path, body }),
  };
}

async function post(rt: DeviceRuntime, io: ProtocolIo, path: string, json: unknown) {
  const body = Buffer.from(JSON.stringify(json));
  return io.transport.request({
    method: 'POST',
    path,
    body,
    sourceAddress: rt.device.ipAddress,
    headers: { 'content-type': 'application/json', ...signedHeaders(rt, 'POST', path, body, io.now()) },
  });
}

export async function sendGenericEvents(
  rt: DeviceRuntime,
  io: ProtocolIo,
  events: readonly SimEvent[],
): Promise<Delivery> {
  const items = events.map(genericEvent).filter((e) => e !== undefined);
  if (items.length === 0) return { accepted: 0, rejected: 0, status: 0 };
  const res = await post(rt, io, `${GENERIC_PREFIX}/events`, { events: items });
  if (res.status !== 200) return allOrNothing(res.status, items.length, shortReason(res.body));
  try {
    const { results } = JSON.parse(res.body.toString('utf8')) as {
      results?: { status?: string; reason?: string }[];
    };
    const list = results ?? [];
    const rejected = list.filter((r) => r.status === 'rejected');
    return {
      accepted: list.length - rejected.length,
      rejected: rejected.length,
      status: 200,
      ...(rejected[0]?.reason ? { reason: rejected[0].reason } : {}),
    };
  } catch {
    return allOrNothing(200, items.length);
  }
}

export interface GenericCommand {
  readonly commandId: string;
  readonly command: Record<string, unknown>;
}

/** Heartbeat; answers the commands the platform queued (a time sync resets the clock). */
export async function sendGenericHeartbeat(
  rt: DeviceRuntime,
  io: ProtocolIo,
): Promise<Delivery & { commands: GenericCommand[] }> {
  const res = await post(rt, io, `${GENERIC_PREFIX}/heartbeat`, { status: 'ok', serial: rt.serial });
  if (res.status !== 200) return { ...allOrNothing(res.status, 1, shortReason(res.body)), commands: [] };
  let commands: GenericCommand[] = [];
  try {
    commands = (
      (JSON.parse(res.body.toString('utf8')) as { commands?: GenericCommand[] }).commands ?? []
    ).filter((c) => typeof c.commandId === 'string');
  } catch {
    // A heartbeat answer without commands is still an answer.
  }
  return { ...allOrNothing(200, 1), commands };
}

/** Carries out a command as a device would and acknowledges it. */
export async function acknowledgeCommand(
  rt: DeviceRuntime,
  io: ProtocolIo,
  command: GenericCommand,
): Promise<Delivery> {
  const c = command.command;
  const known = [
    'timeSync',
    'time_sync',
    'openDoor',
    'open_door',
    'openBarrier',
    'open_barrier',
    'accessListUpdate',
    'access_list_update',
    'reboot',
  ];
  const kind = known.find((k) => c[k] !== undefined && c[k] !== null);
  if (kind === 'timeSync' || kind === 'time_sync') rt.skewMs = 0;
  const body =
    kind === undefined
      ? { result: 'failed', detail: 'command not supported by this device' }
      : { result: 'succeeded' };
  const res = await post(
    rt,
    io,
    `${GENERIC_PREFIX}/commands/${encodeURIComponent(command.commandId)}/ack`,
    body,
  );
  return allOrNothing(res.status, 1, shortReason(res.body));
}
