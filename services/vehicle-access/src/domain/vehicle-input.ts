/**
 * Validation of registered-vehicle attributes shared by the RPCs and the CSV import: one place
 * decides what a valid compound, plate, owner, validity window and enum value are, and every
 * problem is reported per field.
 */
import { anfang, isUuid } from '@anfang/contracts';
import { normalisePlate, type NormalisedPlate } from './plate.ts';

export interface FieldProblem {
  readonly field: string;
  readonly description: string;
}

export interface VehicleFields {
  readonly compoundId: string;
  readonly plate: NormalisedPlate;
  readonly plateColor: number;
  readonly vehicleType: number;
  readonly vehicleColor: number;
  readonly ownerPersonId: string;
  readonly parkingSpace: string;
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
}

/** The same attributes as entered, before the plate is normalised. */
export type RawVehicleFields = Omit<VehicleFields, 'plate'> & { readonly plateNumber: string };

/** Standard-address codes: opaque beyond their prefix property (address.proto), but never blank or spaced. */
const COMPOUND_ID = /^[0-9A-Za-z_-]{1,64}$/;

export function compoundProblem(compoundId: string, field = 'compound_id'): FieldProblem | undefined {
  if (!compoundId) return { field, description: 'required' };
  if (!COMPOUND_ID.test(compoundId))
    return { field, description: 'must be a standard-address code (letters, digits, _ or -, at most 64)' };
  return undefined;
}

export function plateOrProblem(value: string, field = 'plate_number'): NormalisedPlate | FieldProblem {
  const plate = normalisePlate(value);
  return plate.ok ? plate : { field, description: plate.reason };
}

export function isProblem(value: unknown): value is FieldProblem {
  return typeof value === 'object' && value !== null && 'description' in value && 'field' in value;
}

function enumProblem(
  value: number,
  values: Readonly<Record<string, string | number>>,
  field: string,
): FieldProblem | undefined {
  // protobufjs enums map numbers back to names: a known number has a name.
  return typeof values[value] === 'string' ? undefined : { field, description: `unknown value ${value}` };
}

export function validateVehicle(raw: RawVehicleFields): { fields?: VehicleFields; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const compound = compoundProblem(raw.compoundId);
  if (compound) problems.push(compound);
  const plate = plateOrProblem(raw.plateNumber);
  if (isProblem(plate)) problems.push(plate);
  const { PlateColor, VehicleType, VehicleColor } = anfang.common.v1;
  for (const problem of [
    enumProblem(raw.plateColor, PlateColor, 'plate_color'),
    enumProblem(raw.vehicleType, VehicleType, 'vehicle_type'),
    enumProblem(raw.vehicleColor, VehicleColor, 'vehicle_color'),
  ])
    if (problem) problems.push(problem);
  if (raw.ownerPersonId && !isUuid(raw.ownerPersonId))
    problems.push({
      field: 'owner_person_id',
      description: 'must be a person id (lowercase UUID) from identity',
    });
  if (raw.parkingSpace.length > 64)
    problems.push({ field: 'parking_space', description: 'at most 64 characters' });
  if (raw.validFrom && raw.validUntil && raw.validFrom >= raw.validUntil)
    problems.push({ field: 'validity', description: 'must end after it starts' });
  if (problems.length > 0 || isProblem(plate)) return { problems };
  const { plateNumber: _entered, ...attributes } = raw;
  return { fields: { ...attributes, plate }, problems };
}
