/** Registry records ↔ anfang.device.v1 messages. */
import { anfang, timestampFromDate } from '@anfang/contracts';
import type { RegisteredDevice } from './device.ts';
import type { AddressFields, DeviceInput, DeviceRecord } from './registry.ts';

const { DeviceLifecycle } = anfang.device.v1;

export function deviceToProto(d: DeviceRecord): anfang.device.v1.Device.$Properties {
  return {
    deviceId: d.deviceId,
    gat1400Id: d.gat1400Id,
    name: d.name,
    deviceType: d.deviceType,
    module: d.module,
    compoundId: d.compoundId,
    address: addressToProto(d.address),
    zoneId: d.zoneId,
    direction: d.direction,
    vendor: d.vendor,
    model: d.model,
    serialNumber: d.serialNumber,
    protocol: d.protocol,
    lifecycle:
      d.lifecycle === 'active'
        ? DeviceLifecycle.DEVICE_LIFECYCLE_ACTIVE
        : DeviceLifecycle.DEVICE_LIFECYCLE_DECOMMISSIONED,
    registeredAt: timestampFromDate(d.registeredAt),
    ...(d.decommissionedAt ? { decommissionedAt: timestampFromDate(d.decommissionedAt) } : {}),
    ipAddress: d.ipAddress,
    updatedAt: timestampFromDate(d.updatedAt),
    revision: d.revision,
  };
}

export function addressToProto(a: AddressFields): anfang.common.v1.StandardAddress.$Properties {
  const parts: anfang.common.v1.StandardAddress.$Properties = {
    code: a.code,
    level: a.level,
    fullName: a.fullName,
  };
  for (const name of ['district', 'town', 'committee', 'compound', 'building', 'unit', 'room'] as const) {
    const part = a[name];
    if (part) parts[name] = { code: part.code, name: part.name };
  }
  return parts;
}

/** A record as input again (for updates: the current state with the masked fields replaced). */
export function recordToInput(d: DeviceRecord): DeviceInput {
  return { ...d, address: { ...d.address } };
}

/** The ingest path's view of a device. */
export function toRegisteredDevice(d: DeviceRecord): RegisteredDevice {
  return {
    deviceId: d.deviceId,
    gat1400Id: d.gat1400Id,
    name: d.name,
    deviceType: d.deviceType,
    module: d.module,
    compoundId: d.compoundId,
    zoneId: d.zoneId,
    direction: d.direction,
    vendor: d.vendor,
    model: d.model,
    serialNumber: d.serialNumber,
    protocol: d.protocol,
    ipAddress: d.ipAddress,
    active: d.lifecycle === 'active',
  };
}
