/**
 * Registry devices → the device catalogue objects of an upper platform (pure): APEs (collection
 * devices: cameras, face gates and terminals) and the community DoorDevices extension (door
 * access devices). A device state is one outbox object per registry or status event, so every
 * change is sent once even when the previous one is still waiting; on the wire it is the
 * device's own 20-digit id.
 */
import { anfang } from '@anfang/contracts';
import { formatGat1400Time, isGat1400Id, type EnvelopeName, type Obj } from '@anfang/gat1400';
import type { BuildResult } from './objects.ts';

const { DeviceType, Module } = anfang.common.v1;
const { DeviceLifecycle } = anfang.device.v1;

export interface DeviceRecord {
  readonly deviceId: string;
  readonly gat1400Id: string;
  readonly name: string;
  readonly deviceType: number;
  readonly module: number;
  readonly compoundId: string;
  readonly addressCode: string;
  readonly place: string;
  readonly model: string;
  readonly ipAddress: string;
  readonly active: boolean;
  /** Unknown until a status event. */
  readonly online?: boolean;
  readonly revision: number;
}

export function deviceRecord(d: anfang.device.v1.IDevice): DeviceRecord | { readonly failure: string } {
  if (!d.deviceId) return { failure: 'meta.device.device_id is missing' };
  return {
    deviceId: d.deviceId,
    gat1400Id: d.gat1400Id ?? '',
    name: d.name ?? '',
    deviceType: d.deviceType ?? 0,
    module: d.module ?? 0,
    compoundId: d.compoundId ?? '',
    addressCode: d.address?.code || d.compoundId || '',
    place: d.address?.fullName ?? '',
    model: [d.vendor, d.model].filter(Boolean).join(' '),
    ipAddress: d.ipAddress ?? '',
    active: d.lifecycle !== DeviceLifecycle.DEVICE_LIFECYCLE_DECOMMISSIONED,
    revision: Number(d.revision ?? 0),
  };
}

/** Plate cameras of vehicle access (barriers): their reads reach the platform as passages, with InOut. */
export const isBarrierCamera = (d: DeviceRecord | undefined): boolean =>
  d?.deviceType === DeviceType.DEVICE_TYPE_PLATE_CAMERA && d.module === Module.MODULE_VEHICLE_ACCESS;

const COLLECTION_DEVICES = new Set<number>([
  DeviceType.DEVICE_TYPE_FACE_GATE,
  DeviceType.DEVICE_TYPE_UNIT_DOOR_TERMINAL,
  DeviceType.DEVICE_TYPE_FACE_CAPTURE_CAMERA,
  DeviceType.DEVICE_TYPE_PLATE_CAMERA,
  DeviceType.DEVICE_TYPE_VIDEO_CAMERA,
  DeviceType.DEVICE_TYPE_VISITOR_KIOSK,
]);

/** DoorType of the DoorDevices extension: 1 compound gate, 2 unit door, 3 other door. */
function doorType(d: DeviceRecord): string | undefined {
  if (d.deviceType === DeviceType.DEVICE_TYPE_FACE_GATE) return '1';
  if (d.deviceType === DeviceType.DEVICE_TYPE_UNIT_DOOR_TERMINAL) return '2';
  if (d.deviceType === DeviceType.DEVICE_TYPE_ACCESS_CONTROLLER)
    return d.module === Module.MODULE_PEDESTRIAN_ACCESS ? '1' : '3';
  return undefined;
}

const isOnline = (d: DeviceRecord): Obj => (d.online === undefined ? {} : { IsOnline: d.online ? '1' : '2' });
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

/** The catalogue objects of a device state (eventId: the registry or status event). */
export function deviceObjects(eventId: string, d: DeviceRecord, at: Date): BuildResult[] {
  if (!d.active) return [{ ok: false, reason: 'a decommissioned device is not described' }];
  if (!isGat1400Id(d.gat1400Id)) return [{ ok: false, reason: 'the device has no GA/T 1400 id' }];
  const base = {
    sourceEventId: eventId,
    objectId: `${d.gat1400Id}/${eventId}`,
    compoundId: d.compoundId,
    deviceId: d.deviceId,
    capturedAt: at,
    images: [],
  };
  const name = d.name || d.gat1400Id;
  const built: BuildResult[] = [];
  const kinds: [EnvelopeName, Obj][] = [];
  if (COLLECTION_DEVICES.has(d.deviceType))
    kinds.push([
      'apes',
      {
        ApeID: d.gat1400Id,
        Name: name,
        ...(d.model ? { Model: d.model } : {}),
        ...(IPV4.test(d.ipAddress) ? { IPAddr: d.ipAddress } : {}),
        ...(d.addressCode ? { PlaceCode: d.addressCode } : {}),
        ...(d.place ? { Place: d.place } : {}),
        ...isOnline(d),
      },
    ]);
  const door = doorType(d);
  if (door && /^\d{6,20}$/.test(d.compoundId))
    kinds.push([
      'doorDevices',
      {
        DeviceID: d.gat1400Id,
        Name: name,
        CommunityCode: d.compoundId,
        ...(d.place ? { Address: d.place } : {}),
        DoorType: door,
        ...isOnline(d),
        UpdateTime: formatGat1400Time(at),
      },
    ]);
  for (const [kind, body] of kinds) built.push({ ok: true, object: { ...base, kind, body } });
  if (built.length === 0)
    built.push({ ok: false, reason: 'the device is neither a collection nor a door device' });
  return built;
}
