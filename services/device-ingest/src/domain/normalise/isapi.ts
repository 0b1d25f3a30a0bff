/**
 * Hikvision ISAPI event push → normalised events. Pure: the HTTP edge (src/http/protocols/isapi.ts)
 * decodes the request into an alert object (from XML or JSON, same shape) and the pictures that
 * came with it; this module decides what it means.
 *
 *   ANPR                                       → PlateRead
 *   fielddetection / linedetection / regionEntrance → PerimeterTriggered
 *   faceCapture / faceSnap                     → FaceCaptured
 *   AccessControllerEvent major 5: minor 1, 9  → CredentialPresented (card)
 *                                  minor 75, 76 → FaceCaptured (terminal's verdict)
 *                                  minor 27, 28 → DeviceAlarmReported (door)
 *   videoloss inactive, heartBeat              → heartbeat (activity and clock only)
 *   videoloss active                           → DeviceAlarmReported (video loss)
 *   anything else                              → ignored (acknowledged, counted as activity)
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { anfang, topics } from '@anfang/contracts';
import type { IncomingImage, NormalisedEvent } from '../../ingest/types.ts';
import {
  codeKey,
  isapiPlateColor,
  isapiRelative,
  isapiVehicleColor,
  isapiVehicleType,
  normalisePlate,
  relativeDirection,
} from './isapi-codes.ts';

const { ImageKind, TriggerState, Direction, SpoofCheckResult } = anfang.common.v1;
const { PerimeterSensorKind, DetectionTarget, DeviceAlarmKind, LocalDecision } = anfang.device.v1;

/** A payload that is not a usable ISAPI alert; the message is the reason given to the device. */
export class IsapiPayloadError extends Error {
  override readonly name = 'IsapiPayloadError';
}

export type IsapiAlert = Record<string, unknown>;

/** A picture part of a multipart push, by the name the device gave it. */
export interface IsapiPicture {
  /** Part file name (or field name): `licensePlatePicture.jpg`, `faceImage.jpg`, … */
  readonly name: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}

/** Who the payload says sent it; checked against the registry, never trusted alone. */
export interface IsapiClaimedIdentity {
  readonly ipAddress?: string;
  readonly macAddress?: string;
  readonly serialNumber?: string;
}

export type IsapiOutcome =
  | { readonly kind: 'events'; readonly events: NormalisedEvent[]; readonly deviceTime: Date }
  | { readonly kind: 'heartbeat'; readonly deviceTime?: Date }
  | { readonly kind: 'ignored'; readonly eventType: string; readonly deviceTime?: Date };

export interface IsapiMapOptions {
  /** The registered device's installed direction (anfang.common.v1.Direction). */
  readonly deviceDirection: number;
}

// Lists whose single entries the XML would otherwise turn into objects.
const XML_ARRAYS = new Set(['pictureInfo', 'DetectionRegionEntry', 'RegionCoordinates', 'face']);

const xmlParser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Plates, card numbers and serials are strings even when they look numeric.
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => XML_ARRAYS.has(name),
  processEntities: true,
  htmlEntities: false,
});

/** Parses an `EventNotificationAlert` XML document. */
export function parseIsapiXml(xml: string): IsapiAlert {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new IsapiPayloadError(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = xmlParser.parse(xml) as Record<string, unknown>;
  } catch (err) {
    // Well-formed XML the parser still refuses (a DOCTYPE with external entities) is the
    // device's mistake, not ours.
    throw new IsapiPayloadError(`unusable XML: ${(err as Error).message}`);
  }
  const alert = doc['EventNotificationAlert'];
  if (!isRecord(alert)) throw new IsapiPayloadError('XML root is not EventNotificationAlert');
  return alert;
}

/** Parses a JSON alert (access terminals, newer cameras). */
export function parseIsapiJson(json: string): IsapiAlert {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new IsapiPayloadError(`malformed JSON: ${(err as Error).message}`);
  }
  // Some firmware wraps the alert as {"EventNotificationAlert": {...}}.
  if (isRecord(doc) && isRecord(doc['EventNotificationAlert'])) doc = doc['EventNotificationAlert'];
  if (!isRecord(doc)) throw new IsapiPayloadError('JSON alert is not an object');
  return doc;
}

/** Parses XML or JSON by looking at the first non-blank character. */
export function parseIsapiDocument(text: string): IsapiAlert {
  const start = text.trimStart()[0];
  if (start === '<') return parseIsapiXml(text);
  if (start === '{') return parseIsapiJson(text);
  throw new IsapiPayloadError('body is neither XML nor JSON');
}

export function isapiClaimedIdentity(alert: IsapiAlert): IsapiClaimedIdentity {
  const ace = record(alert['AccessControllerEvent']);
  return {
    ipAddress: text(alert['ipAddress']) ?? text(alert['ipv4Address']),
    macAddress: text(alert['macAddress']),
    serialNumber: text(alert['serialNumber']) ?? text(alert['deviceID']) ?? text(ace?.['serialNumber']),
  };
}

/**
 * ISO 8601 with offset (`2024-05-13T09:21:33+08:00`, `…33.120+08:00`, `…Z`). Firmware that omits
 * the offset is on China Standard Time, the only zone these devices are installed in here.
 */
/**
 * `isDataRetransmission`: the device re-sends an alert it buffered while the platform was away
 * (hours later, possibly). Its `dateTime` is then the capture's, not the send's, so it is no clock
 * sample. XML gives the string `true`, JSON a boolean.
 */
export function isapiIsRetransmission(alert: IsapiAlert): boolean {
  const v = alert['isDataRetransmission'];
  return v === true || (typeof v === 'string' && v.trim().toLowerCase() === 'true');
}

export function parseIsapiDateTime(value: unknown): Date | undefined {
  const s = text(value);
  if (s === undefined) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return undefined;
  const offset =
    m[8] === undefined ? '+08:00' : m[8] === 'Z' ? 'Z' : m[8].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const fraction = m[7] === undefined ? '' : m[7].slice(0, 4).padEnd(4, '0');
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction}${offset}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Maps one alert and its pictures. Throws IsapiPayloadError for a payload missing what it needs. */
export function mapIsapiAlert(
  alert: IsapiAlert,
  pictures: readonly IsapiPicture[],
  options: IsapiMapOptions,
): IsapiOutcome {
  const eventType = text(alert['eventType']);
  if (eventType === undefined) throw new IsapiPayloadError('eventType is missing');
  const type = codeKey(eventType);
  const state = codeKey(alert['eventState']);
  const rawTime = alert['dateTime'];
  const deviceTime = parseIsapiDateTime(rawTime);
  if (rawTime !== undefined && deviceTime === undefined) {
    throw new IsapiPayloadError(`dateTime is not ISO 8601: ${String(rawTime).slice(0, 64)}`);
  }

  if (type === 'heartbeat' || (type === 'videoloss' && state === 'inactive')) {
    return { kind: 'heartbeat', deviceTime };
  }
  // Everything below is an event: it needs the device's time.
  const occurredAt = (): Date => {
    if (deviceTime === undefined) throw new IsapiPayloadError('dateTime is missing');
    return deviceTime;
  };
  const common = { alert, pictures, options, eventType };

  switch (type) {
    case 'anpr':
      return events(mapAnpr(common, occurredAt()), occurredAt());
    case 'fielddetection':
    case 'linedetection':
    case 'regionentrance':
      return events(mapPerimeter(common, occurredAt()), occurredAt());
    case 'facecapture':
    case 'facesnap':
      return events(mapFaceCapture(common, occurredAt()), occurredAt());
    case 'accesscontrollerevent': {
      const event = mapAccessEvent(common, occurredAt());
      return event === undefined ? { kind: 'ignored', eventType, deviceTime } : events(event, occurredAt());
    }
    case 'videoloss':
      return events(
        deviceAlarm(common, occurredAt(), DeviceAlarmKind.DEVICE_ALARM_KIND_VIDEO_LOSS, 'videoloss'),
        occurredAt(),
      );
    default:
      return { kind: 'ignored', eventType, deviceTime };
  }
}

interface Common {
  readonly alert: IsapiAlert;
  readonly pictures: readonly IsapiPicture[];
  readonly options: IsapiMapOptions;
  readonly eventType: string;
}

function events(event: NormalisedEvent, deviceTime: Date): IsapiOutcome {
  return { kind: 'events', events: [event], deviceTime };
}

/** The device's own id for the alert: its UUID, else the fallback (which must be stable). */
function sourceKeyOf(alert: IsapiAlert, fallback: () => string): string {
  const uuid = text(alert['UUID']) ?? text(alert['uuid']);
  return uuid ?? fallback();
}

function mapAnpr({ alert, pictures, options }: Common, occurredAt: Date): NormalisedEvent {
  const anpr = record(alert['ANPR']);
  if (anpr === undefined) throw new IsapiPayloadError('ANPR element is missing');
  const rawPlate = text(anpr['licensePlate']) ?? text(anpr['originalLicensePlate']);
  if (rawPlate === undefined) throw new IsapiPayloadError('ANPR.licensePlate is missing');
  const plate = normalisePlate(rawPlate);
  const vehicleInfo = record(anpr['vehicleInfo']);
  const confidence = num(anpr['confidenceLevel']);
  const dateTime = text(alert['dateTime']) ?? '';
  const sourceKey = sourceKeyOf(alert, () => `anpr:${plate || rawPlate}:${dateTime}`);
  const listed = new Map<string, Record<string, unknown>>();
  for (const info of list(record(anpr['pictureInfoList'])?.['pictureInfo'])) {
    const name = text(info['fileName']);
    if (name !== undefined) listed.set(name.toLowerCase(), info);
  }
  const images = pictures.map((p) => {
    const info = listed.get(p.name.toLowerCase());
    return image(p, anprImageKind(p.name, text(info?.['type'])));
  });
  return {
    topic: topics.devicePlateRead,
    sourceKey,
    occurredAt,
    images,
    imageField: 'images',
    payload: {
      sourceObjectId: sourceKey,
      hasPlate: plate !== '',
      plateNumber: plate,
      plateColor: isapiPlateColor(anpr['plateColor']),
      vehicleColor: isapiVehicleColor(vehicleInfo?.['color']),
      vehicleType: isapiVehicleType(anpr['vehicleType'] ?? vehicleInfo?.['vehicleType']),
      vehicleBrand: brandName(vehicleInfo?.['vehicleLogoRecog']),
      direction: relativeDirection(
        isapiRelative(anpr['direction'], anpr['detectDir']),
        options.deviceDirection,
      ),
      lane: Math.max(0, Math.trunc(num(anpr['line']) ?? 0)),
      confidence: confidence === undefined ? 0 : clamp01(confidence / 100),
      spoofCheck: SpoofCheckResult.SPOOF_CHECK_RESULT_UNSPECIFIED,
    },
  };
}

/** Most firmware reports the brand as a numeric code of its own table, which is no brand name. */
function brandName(value: unknown): string {
  const brand = text(value);
  return brand === undefined || /^\d+$/.test(brand) ? '' : brand;
}

function anprImageKind(fileName: string, type: string | undefined): number {
  const key = codeKey(`${type ?? ''}${fileName}`);
  if (key.includes('licenseplate') || key.includes('plate')) return ImageKind.IMAGE_KIND_PLATE;
  if (key.includes('vehicle')) return ImageKind.IMAGE_KIND_VEHICLE;
  // The ANPR "detection picture" is the whole scene of the lane.
  if (key.includes('detection') || key.includes('scene') || key.includes('background'))
    return ImageKind.IMAGE_KIND_SCENE;
  return ImageKind.IMAGE_KIND_OTHER;
}

const SENSOR_KIND: Record<string, number> = {
  fielddetection: PerimeterSensorKind.PERIMETER_SENSOR_KIND_VIDEO_REGION_INTRUSION,
  linedetection: PerimeterSensorKind.PERIMETER_SENSOR_KIND_VIDEO_LINE_CROSSING,
  regionentrance: PerimeterSensorKind.PERIMETER_SENSOR_KIND_VIDEO_REGION_ENTRANCE,
};

function mapPerimeter({ alert, pictures, eventType }: Common, occurredAt: Date): NormalisedEvent {
  const regions = list(record(alert['DetectionRegionList'])?.['DetectionRegionEntry']);
  const first = regions[0];
  const regionIds = regions.map((r) => text(r['regionID'])).filter((r): r is string => r !== undefined);
  const channel = text(alert['channelID']) ?? text(alert['dynChannelID']) ?? '';
  const dateTime = text(alert['dateTime']) ?? '';
  const sourceKey = sourceKeyOf(
    alert,
    () => `${codeKey(eventType)}:${channel}:${regionIds.join(',')}:${dateTime}`,
  );
  return {
    topic: topics.devicePerimeterTriggered,
    sourceKey,
    occurredAt,
    images: pictures.map((p) => image(p, ImageKind.IMAGE_KIND_DETECTION)),
    imageField: 'images',
    payload: {
      sourceObjectId: sourceKey,
      sensorKind: SENSOR_KIND[codeKey(eventType)] ?? PerimeterSensorKind.PERIMETER_SENSOR_KIND_UNSPECIFIED,
      state: triggerState(alert['eventState']),
      regionId: regionIds.length > 0 ? regionIds.join(',') : channel,
      target: detectionTarget(first?.['detectionTarget'] ?? alert['detectionTarget']),
    },
  };
}

function detectionTarget(value: unknown): number {
  const key = codeKey(value);
  if (key === 'human' || key === 'person' || key === 'people') return DetectionTarget.DETECTION_TARGET_HUMAN;
  if (key === 'vehicle' || key === 'car') return DetectionTarget.DETECTION_TARGET_VEHICLE;
  if (key === '' || key === 'unknown') return DetectionTarget.DETECTION_TARGET_UNSPECIFIED;
  // "human,vehicle" and other combinations.
  return DetectionTarget.DETECTION_TARGET_OTHER;
}

function triggerState(value: unknown): number {
  const key = codeKey(value);
  if (key === 'inactive') return TriggerState.TRIGGER_STATE_INACTIVE;
  // A one-shot event without a state is a trigger.
  return TriggerState.TRIGGER_STATE_ACTIVE;
}

function mapFaceCapture({ alert, pictures, eventType }: Common, occurredAt: Date): NormalisedEvent {
  const face = pictures.find((p) => faceImageKind(p.name) === ImageKind.IMAGE_KIND_FACE) ?? pictures[0];
  if (face === undefined) throw new IsapiPayloadError(`${eventType} without a face picture`);
  const channel = text(alert['channelID']) ?? '';
  const dateTime = text(alert['dateTime']) ?? '';
  const sourceKey = sourceKeyOf(
    alert,
    () => `face:${channel}:${dateTime}:${text(alert['activePostCount']) ?? ''}`,
  );
  return {
    topic: topics.deviceFaceCaptured,
    sourceKey,
    occurredAt,
    images: pictures.map((p) => image(p, p === face ? ImageKind.IMAGE_KIND_FACE : faceImageKind(p.name))),
    imageField: 'images',
    payload: {
      sourceObjectId: sourceKey,
      liveness: SpoofCheckResult.SPOOF_CHECK_RESULT_UNSPECIFIED,
      direction: Direction.DIRECTION_UNSPECIFIED,
    },
  };
}

function faceImageKind(name: string): number {
  const key = codeKey(name);
  if (key.includes('background') || key.includes('scene') || key.includes('bkg'))
    return ImageKind.IMAGE_KIND_SCENE;
  if (key.includes('face') || key === 'picture' || key.startsWith('picture.'))
    return ImageKind.IMAGE_KIND_FACE;
  return ImageKind.IMAGE_KIND_OTHER;
}

/** ISAPI AccessControllerEvent minors (major 5 = event) Anfang acts on. */
const MINOR = {
  validCard: 1,
  invalidCard: 9,
  doorAbnormallyOpen: 27,
  doorOpenTimeout: 28,
  facePassed: 75,
  faceFailed: 76,
} as const;

function mapAccessEvent(common: Common, occurredAt: Date): NormalisedEvent | undefined {
  const { alert, pictures, options } = common;
  const ace = record(alert['AccessControllerEvent']);
  if (ace === undefined) throw new IsapiPayloadError('AccessControllerEvent element is missing');
  const major = num(ace['majorEventType']);
  const minor = num(ace['subEventType']);
  if (major === undefined || minor === undefined) {
    throw new IsapiPayloadError('AccessControllerEvent.majorEventType/subEventType missing');
  }
  if (major !== 5) return undefined;
  const serialNo = text(ace['serialNo']);
  const dateTime = text(alert['dateTime']) ?? '';
  // serialNo restarts when a terminal is reset; with the time it stays unique, and a resend
  // repeats both.
  const sourceKey = sourceKeyOf(alert, () => {
    if (serialNo === undefined) throw new IsapiPayloadError('AccessControllerEvent.serialNo is missing');
    return `ace:${serialNo}:${dateTime}`;
  });
  const readerNo = text(ace['cardReaderNo']) ?? '';
  const direction = readerDirection(readerNo, options.deviceDirection);
  const images = pictures.map((p) =>
    image(
      p,
      faceImageKind(p.name) === ImageKind.IMAGE_KIND_SCENE
        ? ImageKind.IMAGE_KIND_SCENE
        : ImageKind.IMAGE_KIND_FACE,
    ),
  );

  switch (minor) {
    case MINOR.validCard:
    case MINOR.invalidCard: {
      const cardNo = text(ace['cardNo']);
      if (cardNo === undefined) throw new IsapiPayloadError(`card event (minor ${minor}) without cardNo`);
      return {
        topic: topics.deviceCredentialPresented,
        sourceKey,
        occurredAt,
        images,
        imageField: 'images',
        payload: {
          sourceObjectId: sourceKey,
          card: { cardNumber: cardNo.toUpperCase() },
          readerNo,
          direction,
          localDecision:
            minor === MINOR.validCard
              ? LocalDecision.LOCAL_DECISION_ALLOWED
              : LocalDecision.LOCAL_DECISION_DENIED,
        },
      };
    }
    case MINOR.facePassed:
    case MINOR.faceFailed:
      return {
        topic: topics.deviceFaceCaptured,
        sourceKey,
        occurredAt,
        images,
        imageField: 'images',
        payload: {
          sourceObjectId: sourceKey,
          liveness: SpoofCheckResult.SPOOF_CHECK_RESULT_UNSPECIFIED,
          direction,
          devicePersonRef: text(ace['employeeNoString']) ?? text(ace['employeeNo']) ?? '',
          deviceMatchScore: similarity(ace['similarity']),
          localDecision:
            minor === MINOR.facePassed
              ? LocalDecision.LOCAL_DECISION_ALLOWED
              : LocalDecision.LOCAL_DECISION_DENIED,
        },
      };
    case MINOR.doorAbnormallyOpen:
      return deviceAlarm(
        common,
        occurredAt,
        DeviceAlarmKind.DEVICE_ALARM_KIND_DOOR_FORCED_OPEN,
        `minor ${minor}`,
        sourceKey,
      );
    case MINOR.doorOpenTimeout:
      return deviceAlarm(
        common,
        occurredAt,
        DeviceAlarmKind.DEVICE_ALARM_KIND_DOOR_HELD_OPEN,
        `minor ${minor}`,
        sourceKey,
      );
    default:
      return undefined;
  }
}

/** Reader 1 is the entry reader and 2 the exit reader on Hikvision controllers. */
function readerDirection(readerNo: string, installed: number): number {
  if (installed === Direction.DIRECTION_IN || installed === Direction.DIRECTION_OUT) return installed;
  if (readerNo === '1') return Direction.DIRECTION_IN;
  if (readerNo === '2') return Direction.DIRECTION_OUT;
  return Direction.DIRECTION_UNSPECIFIED;
}

function similarity(value: unknown): number {
  const n = num(value);
  if (n === undefined) return 0;
  return clamp01(n > 1 ? n / 100 : n);
}

function deviceAlarm(
  { alert, pictures, eventType }: Common,
  occurredAt: Date,
  kind: number,
  what: string,
  sourceKey?: string,
): NormalisedEvent {
  const key =
    sourceKey ??
    sourceKeyOf(
      alert,
      () => `${codeKey(eventType)}:${text(alert['channelID']) ?? ''}:${text(alert['dateTime']) ?? ''}`,
    );
  const description = text(alert['eventDescription']);
  return {
    topic: topics.deviceAlarmReported,
    sourceKey: key,
    occurredAt,
    images: pictures.map((p) => image(p, ImageKind.IMAGE_KIND_SCENE)),
    imageField: 'images',
    payload: {
      sourceObjectId: key,
      kind,
      state: triggerState(alert['eventState']),
      description: `ISAPI ${eventType} ${what}${description ? `: ${description}` : ''}`,
    },
  };
}

function image(picture: IsapiPicture, kind: number): IncomingImage {
  return { kind, contentType: picture.contentType, bytes: picture.bytes, sourceName: picture.name };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined;
}

function list(value: unknown): Record<string, unknown>[] {
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return items.filter(isRecord);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  return s === '' ? undefined : s;
}

function num(value: unknown): number | undefined {
  const s = text(value);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function clamp01(n: number): number {
  return Math.min(1, Math.max(0, n));
}
