/** A camera's operator-managed attributes and their rules, shared by the API and the CSV import. */
import { anfang } from '@anfang/contracts';

export const ZONE_GROUP_NAMES = ['public_areas', 'buildings', 'key_rooms', 'panorama', 'throwing'] as const;
export type ZoneGroup = (typeof ZONE_GROUP_NAMES)[number];

const { Module } = anfang.common.v1;

/** The video module of the configuration tables each zone group counts for. */
export const MODULE_OF_ZONE_GROUP: Readonly<Record<ZoneGroup, anfang.common.v1.Module>> = {
  public_areas: Module.MODULE_VIDEO_PUBLIC_AREAS,
  buildings: Module.MODULE_VIDEO_BUILDINGS,
  key_rooms: Module.MODULE_VIDEO_KEY_ROOMS,
  panorama: Module.MODULE_VIDEO_PANORAMA,
  throwing: Module.MODULE_VIDEO_THROWING,
};

export const ZONE_GROUP_OF_MODULE: Readonly<Partial<Record<number, ZoneGroup>>> = Object.fromEntries(
  Object.entries(MODULE_OF_ZONE_GROUP).map(([group, module]) => [module, group as ZoneGroup]),
);

export interface CameraFields {
  readonly compoundId: string;
  readonly name: string;
  readonly zoneGroup: ZoneGroup;
  /** '' when the camera is not in device-ingest's registry. */
  readonly deviceId: string;
  readonly rtspUrl: string;
  readonly gb28181Id: string;
  readonly position: string;
  readonly frontendStorageDays: number;
}

const MAX_NAME = 200;
const MAX_TEXT = 500;

/** Trims the fields and reports each problem through `fail`; returns the trimmed fields. */
export function checkCameraFields(
  input: CameraFields,
  fail: (field: string, description: string) => void,
): CameraFields {
  const fields: CameraFields = {
    compoundId: input.compoundId.trim(),
    name: input.name.trim(),
    zoneGroup: input.zoneGroup,
    deviceId: input.deviceId.trim(),
    rtspUrl: input.rtspUrl.trim(),
    gb28181Id: input.gb28181Id.trim(),
    position: input.position.trim(),
    frontendStorageDays: input.frontendStorageDays,
  };
  if (!/^[0-9A-Za-z]{1,64}$/.test(fields.compoundId))
    fail('compound_id', 'a standard-address code (letters and digits)');
  if (!fields.name) fail('name', 'required');
  else if (fields.name.length > MAX_NAME) fail('name', `at most ${MAX_NAME} characters`);
  if (fields.deviceId.length > MAX_NAME) fail('device_id', `at most ${MAX_NAME} characters`);
  if (fields.position.length > MAX_TEXT) fail('position', `at most ${MAX_TEXT} characters`);
  if (fields.rtspUrl) {
    let url: URL | undefined;
    try {
      url = new URL(fields.rtspUrl);
    } catch {
      fail('rtsp_url', 'an rtsp:// or rtsps:// URL');
    }
    if (url && url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:')
      fail('rtsp_url', 'an rtsp:// or rtsps:// URL');
    // The registry is readable by every operator: stream credentials live with the recorder.
    else if (url && (url.username || url.password)) fail('rtsp_url', 'without user name or password');
    if (fields.rtspUrl.length > MAX_TEXT) fail('rtsp_url', `at most ${MAX_TEXT} characters`);
  }
  if (fields.gb28181Id && !/^[0-9]{20}$/.test(fields.gb28181Id))
    fail('gb28181_id', '20 digits (GB/T 28181 id)');
  if (
    !Number.isInteger(fields.frontendStorageDays) ||
    fields.frontendStorageDays < 0 ||
    fields.frontendStorageDays > 3650
  )
    fail('frontend_storage_days', 'a whole number of days, 0..3650 (0 = not reported)');
  return fields;
}
