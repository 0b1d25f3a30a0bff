/**
 * What happens at a device, independent of how the device reports it. The traffic model makes
 * these; each protocol module turns one into its wire format.
 */
import type { IotKind, SimDevice } from './catalog.ts';

export type LivenessResult = 'live' | 'spoof';
export type PlateColour = 'blue' | 'yellow' | 'green' | 'white' | 'black';
export type VehicleColour = 'white' | 'black' | 'gray' | 'silver' | 'red' | 'blue' | 'brown';
export type VehicleKind = 'sedan' | 'suv' | 'mpv' | 'van' | 'truck';

interface Base {
  readonly device: SimDevice;
  /** Per-device serial of the capture (the device's own numbering). */
  readonly serial: number;
  /** The device's clock at the capture (real time + the device's skew). */
  readonly deviceTime: Date;
  /** Deterministic seed of the capture's pictures. */
  readonly seed: number;
}

/** A face presented at a face gate or unit door, with the terminal's verdict. */
export interface FaceAccess extends Base {
  readonly type: 'faceAccess';
  /** Resident's employee number, or empty for a stranger/visitor the terminal did not match. */
  readonly personRef: string;
  readonly personName: string;
  readonly liveness: LivenessResult;
  readonly passed: boolean;
  readonly similarity: number;
}

/** A card at a gate or door reader. */
export interface CardAccess extends Base {
  readonly type: 'cardAccess';
  /** What was presented (default a card): a visitor shows a QR code or an ID card at the same reader. */
  readonly credential?: 'card' | 'id_card' | 'qr' | 'nfc';
  readonly cardNo: string;
  readonly valid: boolean;
}

/** A door forced (27) or held open (28). */
export interface DoorAlarm extends Base {
  readonly type: 'doorAlarm';
  readonly minor: 27 | 28;
}

export interface PlateCapture extends Base {
  readonly type: 'plate';
  /** Empty when no plate was read (covered, missing). */
  readonly plate: string;
  readonly plateColour: PlateColour;
  readonly vehicleColour: VehicleColour;
  readonly vehicleKind: VehicleKind;
  readonly brand: string;
  /** The camera's own list verdict. */
  readonly list: 'allow' | 'block' | 'none';
  /** 0–100. */
  readonly confidence: number;
  readonly lane: number;
}

/** Faces (and sometimes the person) seen by a GA/T 1400 capture camera. */
export interface FaceSighting extends Base {
  readonly type: 'faceSighting';
  readonly faces: number;
  readonly withPerson: boolean;
  readonly gender: '1' | '2' | '0';
}

export interface PerimeterTrigger extends Base {
  readonly type: 'perimeter';
  readonly state: 'active' | 'inactive';
  readonly target: 'human' | 'vehicle' | 'other';
  readonly regionId: string;
}

/** What the video analytics of a camera report (throwing from height, loitering, intrusion). */
export type AnalyticsKind = 'high_altitude_throwing' | 'loitering' | 'intrusion';

export interface AnalyticsTrigger extends Base {
  readonly type: 'analytics';
  readonly kind: AnalyticsKind;
  readonly state: 'active' | 'inactive';
  readonly target: 'human' | 'vehicle' | 'other';
  readonly regionId: string;
  /** 0–1. */
  readonly confidence: number;
}

/** A visitor checking in at a kiosk: an ID card read (with the name) or an invitation QR code. */
export interface VisitorCheckIn extends Base {
  readonly type: 'visitorCheckIn';
  readonly credential: 'id_card' | 'qr';
  readonly value: string;
  readonly name: string;
}

export interface PatrolCheckIn extends Base {
  readonly type: 'patrol';
  readonly guardTag: string;
  readonly checkpointTag: string;
}

export interface IotReading extends Base {
  readonly type: 'iotReading';
  readonly sensor: IotKind;
  readonly measurements: readonly { name: string; value: number; unit: string }[];
  readonly battery: number;
}

export interface IotAlarm extends Base {
  readonly type: 'iotAlarm';
  readonly sensor: IotKind;
  readonly state: 'active' | 'inactive';
  readonly code: string;
  readonly description: string;
  readonly measurements: readonly { name: string; value: number; unit: string }[];
}

export type SimEvent =
  | FaceAccess
  | CardAccess
  | DoorAlarm
  | PlateCapture
  | FaceSighting
  | PerimeterTrigger
  | AnalyticsTrigger
  | VisitorCheckIn
  | PatrolCheckIn
  | IotReading
  | IotAlarm;

export type SimEventType = SimEvent['type'];

/** ISO 8601 with the +08:00 offset, as Chinese devices print local time. */
export function isoBeijing(date: Date, withMillis = false): string {
  const b = new Date(date.getTime() + 8 * 3600_000).toISOString();
  return `${withMillis ? b.slice(0, 23) : b.slice(0, 19)}+08:00`;
}

/** `yyyyMMddHHmmss` Beijing time (GA/T 1400 bodies). */
export function gatTime(date: Date): string {
  return isoBeijing(date).slice(0, 19).replace(/[-T:]/g, '');
}

/** `YYYY-mm-dd HH:MM:SS.fff` Beijing time (Dahua). */
export function dahuaTime(date: Date): string {
  return isoBeijing(date, true).slice(0, 23).replace('T', ' ');
}
