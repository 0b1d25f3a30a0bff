/**
 * Vehicles as a compound's office sets up its car park and as a Dahua barrier camera reads
 * plates: a lane at the camera in a car park of its own, under a policy that holds vehicles it
 * does not know, and plate reads pushed over ITSAPI.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { sendTollgate, type DeviceKit, type DeviceRuntime, type PlateCapture } from '@anfang/simulator';
import type { Rest } from './gateway.ts';

/**
 * A car park of the camera's compound with the camera as its entry lane, and the compound's
 * policy holding unknown vehicles at the barrier; returns the car park's id.
 */
export async function holdingLane(rest: Rest, camera: DeviceRuntime, carParkName: string): Promise<string> {
  const compoundId = camera.device.compound.code;
  const carParkId = randomUUID();
  await rest('PUT', `/v1/car-parks/${carParkId}`, {
    carPark: { carParkId, compoundId, name: carParkName, capacity: 500 },
  });
  await rest('PUT', `/v1/lanes/${camera.device.deviceId}`, {
    lane: {
      deviceId: camera.device.deviceId,
      carParkId,
      direction: 'DIRECTION_IN',
      name: camera.device.name,
      compoundId,
    },
  });
  await rest('PUT', `/v1/compounds/${compoundId}/vehicle-policy`, {
    policy: { compoundId, unknownVehicleAction: 'UNKNOWN_VEHICLE_ACTION_HOLD', minConfidence: 0.5 },
  });
  return carParkId;
}

/** One read of `plate` (a confident read, blue plate, with its pictures), accepted by device-ingest. */
export async function plateRead(kit: DeviceKit, camera: DeviceRuntime, plate: string): Promise<void> {
  const delivery = await sendTollgate(
    camera,
    kit.io,
    kit.event<PlateCapture>(camera, {
      type: 'plate',
      plate,
      plateColour: 'blue',
      vehicleColour: 'white',
      vehicleKind: 'sedan',
      brand: '大众',
      list: 'none',
      confidence: 95,
      lane: 1,
    }),
  );
  expect(delivery, delivery.reason).toMatchObject({ accepted: 1 });
}
