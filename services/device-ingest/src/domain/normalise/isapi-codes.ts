/**
 * Hikvision ISAPI vocabulary → Anfang enums. The strings are what Hikvision ANPR cameras and
 * access terminals put in `plateColor`, `vehicleInfo.color`, `vehicleType`, `direction`; the
 * comparison ignores case and separators because firmware generations differ in spelling
 * (`deepBlue`, `deep_blue`, `SUVMPV`, `suv_mpv`).
 */
import { anfang } from '@anfang/contracts';
import { codeKey, COMMON_PLATE_COLORS, COMMON_VEHICLE_COLORS, lookupCode } from './vendor-codes.ts';

export { codeKey };

const { PlateColor, VehicleColor, VehicleType, Direction } = anfang.common.v1;

const PLATE_COLORS: Record<string, number> = {
  ...COMMON_PLATE_COLORS,
  gradientgreen: PlateColor.PLATE_COLOR_GREEN,
  other: PlateColor.PLATE_COLOR_OTHER,
  // Hikvision's `plateColor` for colours without their own value.
  red: PlateColor.PLATE_COLOR_OTHER,
};

export function isapiPlateColor(value: unknown): number {
  return lookupCode(PLATE_COLORS, value, PlateColor.PLATE_COLOR_UNSPECIFIED, PlateColor.PLATE_COLOR_OTHER);
}

const VEHICLE_COLORS: Record<string, number> = {
  ...COMMON_VEHICLE_COLORS,
  deepgray: VehicleColor.VEHICLE_COLOR_GREY,
  deepblue: VehicleColor.VEHICLE_COLOR_BLUE,
};

export function isapiVehicleColor(value: unknown): number {
  return lookupCode(
    VEHICLE_COLORS,
    value,
    VehicleColor.VEHICLE_COLOR_UNSPECIFIED,
    VehicleColor.VEHICLE_COLOR_OTHER,
  );
}

const VEHICLE_TYPES: Record<string, number> = {
  vehicle: VehicleType.VEHICLE_TYPE_CAR,
  smallcar: VehicleType.VEHICLE_TYPE_CAR,
  minicar: VehicleType.VEHICLE_TYPE_CAR,
  car: VehicleType.VEHICLE_TYPE_CAR,
  sedan: VehicleType.VEHICLE_TYPE_CAR,
  suv: VehicleType.VEHICLE_TYPE_SUV,
  suvmpv: VehicleType.VEHICLE_TYPE_SUV,
  mpv: VehicleType.VEHICLE_TYPE_MPV,
  van: VehicleType.VEHICLE_TYPE_VAN,
  minibus: VehicleType.VEHICLE_TYPE_VAN,
  buggy: VehicleType.VEHICLE_TYPE_VAN,
  largebus: VehicleType.VEHICLE_TYPE_BUS,
  mediumbus: VehicleType.VEHICLE_TYPE_BUS,
  bus: VehicleType.VEHICLE_TYPE_BUS,
  truck: VehicleType.VEHICLE_TYPE_TRUCK,
  lighttruck: VehicleType.VEHICLE_TYPE_TRUCK,
  heavytruck: VehicleType.VEHICLE_TYPE_TRUCK,
  pickuptruck: VehicleType.VEHICLE_TYPE_PICKUP,
  pickup: VehicleType.VEHICLE_TYPE_PICKUP,
  twowheelvehicle: VehicleType.VEHICLE_TYPE_MOTORCYCLE,
  motorcycle: VehicleType.VEHICLE_TYPE_MOTORCYCLE,
  threewheelvehicle: VehicleType.VEHICLE_TYPE_TRICYCLE,
  tricycle: VehicleType.VEHICLE_TYPE_TRICYCLE,
  special: VehicleType.VEHICLE_TYPE_SPECIAL,
};

export function isapiVehicleType(value: unknown): number {
  return lookupCode(
    VEHICLE_TYPES,
    value,
    VehicleType.VEHICLE_TYPE_UNSPECIFIED,
    VehicleType.VEHICLE_TYPE_OTHER,
  );
}

/**
 * Cameras report travel relative to themselves (forward = towards the camera, reverse = away).
 * A camera registered for one direction faces the traffic of that direction, so forward is the
 * registered direction and reverse the opposite; a camera registered for both (or unset)
 * follows the usual installation, facing the entering lane.
 */
export function relativeDirection(relative: 'forward' | 'reverse' | undefined, installed: number): number {
  if (relative === undefined) return Direction.DIRECTION_UNSPECIFIED;
  const facing =
    installed === Direction.DIRECTION_IN || installed === Direction.DIRECTION_OUT
      ? installed
      : Direction.DIRECTION_IN;
  if (relative === 'forward') return facing;
  return facing === Direction.DIRECTION_IN ? Direction.DIRECTION_OUT : Direction.DIRECTION_IN;
}

/** ISAPI `direction` (forward/reverse/unknown) or `detectDir` (1 forward, 2 reverse, 3 both). */
export function isapiRelative(direction: unknown, detectDir: unknown): 'forward' | 'reverse' | undefined {
  const d = codeKey(direction);
  if (d === 'forward' || d === 'positive' || d === 'up') return 'forward';
  if (d === 'reverse' || d === 'negative' || d === 'down' || d === 'back') return 'reverse';
  const n = codeKey(detectDir);
  if (n === '1') return 'forward';
  if (n === '2') return 'reverse';
  return undefined;
}

/** Plate as the contract wants it: upper case, without separators; '' for "no plate". */
export function normalisePlate(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') return '';
  const plate = String(value)
    .toUpperCase()
    .replace(/[\s·•.\-_]+/g, '');
  return NO_PLATE.has(plate) ? '' : plate;
}

const NO_PLATE = new Set(['', '无车牌', '无牌', '车牌', '未识别', 'UNKNOWN', 'NOPLATE', 'NONE']);
