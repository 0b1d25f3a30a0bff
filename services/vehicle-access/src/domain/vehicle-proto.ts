/** Registered vehicles as the contract shows them: in RPC answers and in registry events alike. */
import { timestampFromDate, type anfang } from '@anfang/contracts';
import type { VehicleRecord } from '../store/registry.ts';

export const toWindow = (start: Date | null, end: Date | null): anfang.common.v1.TimeWindow.$Properties => ({
  ...(start ? { startTime: timestampFromDate(start) } : {}),
  ...(end ? { endTime: timestampFromDate(end) } : {}),
});

export function vehicleToProto(v: VehicleRecord): anfang.vehicle.v1.Vehicle.$Properties {
  return {
    vehicleId: v.vehicleId,
    compoundId: v.compoundId,
    plateNumber: v.plateNumber,
    plateColor: v.plateColor,
    vehicleType: v.vehicleType,
    vehicleColor: v.vehicleColor,
    ownerPersonId: v.ownerPersonId,
    parkingSpace: v.parkingSpace,
    validity: toWindow(v.validFrom, v.validUntil),
    plateConfusable: v.plateConfusable,
    createdAt: timestampFromDate(v.createdAt),
    updatedAt: timestampFromDate(v.updatedAt),
  };
}
