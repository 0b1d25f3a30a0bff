import type { anfang } from '@anfang/contracts';
import type { RegisteredDevice } from '../domain/device.ts';

/** The device as every event names it. */
export function deviceRef(device: RegisteredDevice): anfang.common.v1.DeviceRef.$Properties {
  return {
    deviceId: device.deviceId,
    gat1400Id: device.gat1400Id,
    deviceType: device.deviceType,
    module: device.module,
    addressCode: device.compoundId,
    zoneId: device.zoneId,
    direction: device.direction,
    name: device.name,
  };
}
