/**
 * The perimeter as a compound's office arms it and as a Hikvision sensor reports an intrusion:
 * a wall zone of the sensor's own, armed through the gateway, and triggers pushed over ISAPI.
 */
import { expect } from 'vitest';
import { sendIsapiEvent, type DeviceKit, type DeviceRuntime, type PerimeterTrigger } from '@anfang/simulator';
import type { Rest } from './gateway.ts';

/** A wall zone with the sensor, armed; returns its id. */
export async function armedWall(
  rest: Rest,
  sensor: DeviceRuntime,
  name: string,
  reason: string,
): Promise<string> {
  const { zone } = await rest<{ zone: { zoneId: string } }>('POST', '/v1/alarm/zones', {
    zone: {
      compoundId: sensor.device.compound.code,
      name,
      kind: 'ZONE_KIND_WALL',
      sensorDeviceIds: [sensor.device.deviceId],
    },
  });
  await rest('POST', `/v1/alarm/zones/${zone.zoneId}:arming`, { arming: 'ARMING_STATE_ARMED', reason });
  return zone.zoneId;
}

/** One intrusion (a person in region 1, with its detection picture), accepted by device-ingest. */
export async function intrusion(kit: DeviceKit, sensor: DeviceRuntime): Promise<void> {
  const delivery = await sendIsapiEvent(
    sensor,
    kit.io,
    kit.event<PerimeterTrigger>(sensor, {
      type: 'perimeter',
      state: 'active',
      target: 'human',
      regionId: '1',
    }),
  );
  expect(delivery, delivery.reason).toMatchObject({ accepted: 1, status: 200 });
}
