/**
 * The list envelopes of GA/T 1400 bodies (`{"FaceListObject":{"FaceObject":[…]}}`) and the
 * ResponseStatus answers, read with the tolerance the notes ask for: a single object instead of
 * an array, StatusCode as a number or a string.
 */
import { parseStatusCode, STATUS } from './codec.ts';

export interface Envelope {
  /** Path under /VIID. */
  readonly path: string;
  readonly list: string;
  readonly item: string;
  readonly idField: string;
}

export const ENVELOPES = {
  faces: { path: '/Faces', list: 'FaceListObject', item: 'FaceObject', idField: 'FaceID' },
  motorVehicles: {
    path: '/MotorVehicles',
    list: 'MotorVehicleListObject',
    item: 'MotorVehicleObject',
    idField: 'MotorVehicleID',
  },
  persons: { path: '/Persons', list: 'PersonListObject', item: 'PersonObject', idField: 'PersonID' },
  apes: { path: '/APEs', list: 'APEListObject', item: 'APEObject', idField: 'ApeID' },
  /** Regional community extension (not in the national standard): door access devices. */
  doorDevices: {
    path: '/Community/DoorDevices',
    list: 'DoorDeviceListObject',
    item: 'DoorDeviceObject',
    idField: 'DeviceID',
  },
  /** Regional community extension: the real population (实有人口). */
  personInfos: {
    path: '/Community/PersonInfos',
    list: 'PersonInfoListObject',
    item: 'PersonInfoObject',
    idField: 'PersonInfoID',
  },
  /** Regional community extension: real houses (实有房屋). */
  houseInfos: {
    path: '/Community/HouseInfos',
    list: 'HouseInfoListObject',
    item: 'HouseInfoObject',
    idField: 'HouseInfoID',
  },
  /** Regional community extension: registered resident vehicles. */
  carInfos: {
    path: '/Community/CarInfos',
    list: 'CarInfoListObject',
    item: 'CarInfoObject',
    idField: 'CarInfoID',
  },
  subscribeNotifications: {
    path: '/SubscribeNotifications',
    list: 'SubscribeNotificationListObject',
    item: 'SubscribeNotificationObject',
    idField: 'NotificationID',
  },
  dispositionNotifications: {
    path: '/DispositionNotifications',
    list: 'DispositionNotificationListObject',
    item: 'DispositionNotificationObject',
    idField: 'NotificationID',
  },
  subscribes: {
    path: '/Subscribes',
    list: 'SubscribeListObject',
    item: 'SubscribeObject',
    idField: 'SubscribeID',
  },
  dispositions: {
    path: '/Dispositions',
    list: 'DispositionListObject',
    item: 'DispositionObject',
    idField: 'DispositionID',
  },
} as const satisfies Record<string, Envelope>;

export type EnvelopeName = keyof typeof ENVELOPES;

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{List: {Item: objects}}`. */
export function wrap(name: EnvelopeName, objects: readonly unknown[]): Obj {
  const e = ENVELOPES[name];
  return { [e.list]: { [e.item]: objects } };
}

/**
 * The objects of a list body, or why there are none. A bare `{Item: …}` (no list wrapper) is
 * accepted too: some platforms send single dispositions that way.
 */
export function unwrap(name: EnvelopeName, body: unknown): unknown[] | { readonly failure: string } {
  const e = ENVELOPES[name];
  if (!isObj(body)) return { failure: 'body is not a JSON object' };
  const list = body[e.list];
  const items = isObj(list) ? list[e.item] : body[e.item];
  if (Array.isArray(items)) return items;
  if (isObj(items)) return [items];
  return { failure: `body has no ${e.list}.${e.item}` };
}

/** The id of an object of the envelope, '' when it has none. */
export function idOf(name: EnvelopeName, object: unknown): string {
  const id = isObj(object) ? object[ENVELOPES[name].idField] : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : '';
}

export interface ParsedStatus {
  readonly id: string;
  readonly code: number;
  readonly text: string;
}

/**
 * The statuses of an answer: `ResponseStatusListObject.ResponseStatusObject[]` or a single
 * `ResponseStatusObject` (then it stands for the whole request). Unreadable entries get
 * OTHER_ERROR so the sender retries them.
 */
export function parseStatuses(body: unknown): ParsedStatus[] {
  if (!isObj(body)) return [];
  const list = isObj(body.ResponseStatusListObject)
    ? body.ResponseStatusListObject.ResponseStatusObject
    : undefined;
  const raw = Array.isArray(list)
    ? list
    : isObj(list)
      ? [list]
      : isObj(body.ResponseStatusObject)
        ? [body.ResponseStatusObject]
        : [];
  return raw.filter(isObj).map((s) => ({
    id: typeof s.Id === 'string' || typeof s.Id === 'number' ? String(s.Id) : '',
    code: parseStatusCode(s.StatusCode) ?? STATUS.OTHER_ERROR,
    text: typeof s.StatusString === 'string' ? s.StatusString : '',
  }));
}

/** Codes that say the object itself is wrong: re-sending the same bytes cannot succeed. */
export function isContentRejection(code: number): boolean {
  return (
    code === STATUS.INVALID_JSON_CONTENT ||
    code === STATUS.INVALID_JSON_FORMAT ||
    code === STATUS.INVALID_XML_CONTENT ||
    code === STATUS.INVALID_XML_FORMAT
  );
}
