/**
 * What the vendor vocabularies (Hikvision ISAPI, Dahua ITSAPI) have in common: codes compared
 * without case or separators (firmware generations spell `deepBlue`, `deep_blue`, `DeepBlue`),
 * an empty or "unknown" code meaning unspecified and an unlisted one meaning other, and the
 * colour words both vendors use. Each vendor adds its own spellings to these tables.
 */
import { anfang } from '@anfang/contracts';

const { PlateColor, VehicleColor } = anfang.common.v1;

/** Lower case, without spaces, dashes and underscores. */
export function codeKey(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number'
    ? String(value)
        .toLowerCase()
        .replace(/[\s_-]+/g, '')
    : '';
}

/** A vendor code looked up in `table`: empty/"unknown" → `unspecified`, unlisted → `other`. */
export function lookupCode(
  table: Readonly<Record<string, number>>,
  value: unknown,
  unspecified: number,
  other: number,
): number {
  const key = codeKey(value);
  if (key === '' || key === 'unknown') return unspecified;
  return table[key] ?? other;
}

export const COMMON_PLATE_COLORS: Readonly<Record<string, number>> = {
  blue: PlateColor.PLATE_COLOR_BLUE,
  yellow: PlateColor.PLATE_COLOR_YELLOW,
  white: PlateColor.PLATE_COLOR_WHITE,
  black: PlateColor.PLATE_COLOR_BLACK,
  green: PlateColor.PLATE_COLOR_GREEN,
  newenergygreen: PlateColor.PLATE_COLOR_GREEN,
  yellowgreen: PlateColor.PLATE_COLOR_YELLOW_GREEN,
  greenyellow: PlateColor.PLATE_COLOR_YELLOW_GREEN,
  newenergyyellowgreen: PlateColor.PLATE_COLOR_YELLOW_GREEN,
};

export const COMMON_VEHICLE_COLORS: Readonly<Record<string, number>> = {
  black: VehicleColor.VEHICLE_COLOR_BLACK,
  white: VehicleColor.VEHICLE_COLOR_WHITE,
  gray: VehicleColor.VEHICLE_COLOR_GREY,
  grey: VehicleColor.VEHICLE_COLOR_GREY,
  silver: VehicleColor.VEHICLE_COLOR_GREY,
  red: VehicleColor.VEHICLE_COLOR_RED,
  blue: VehicleColor.VEHICLE_COLOR_BLUE,
  yellow: VehicleColor.VEHICLE_COLOR_YELLOW,
  orange: VehicleColor.VEHICLE_COLOR_ORANGE,
  brown: VehicleColor.VEHICLE_COLOR_BROWN,
  green: VehicleColor.VEHICLE_COLOR_GREEN,
  purple: VehicleColor.VEHICLE_COLOR_PURPLE,
  cyan: VehicleColor.VEHICLE_COLOR_CYAN,
  pink: VehicleColor.VEHICLE_COLOR_PINK,
  other: VehicleColor.VEHICLE_COLOR_OTHER,
};
