/**
 * Subscriptions from an upper platform (pure): a SubscribeObject → what it asks for, whether an
 * object matches it, and the SubscribeNotificationObject carrying the object.
 */
import {
  COMMAND_KIND,
  commandId,
  formatGat1400Time,
  isGat1400CommandId,
  isGat1400Id,
  isStrictGat1400Time,
  parseGat1400Time,
  stableSerial,
  type Obj,
} from '@anfang/gat1400';
import type { BuildContext, UploadObject } from './objects.ts';

/** SubscribeDetail codes this platform serves → envelope. */
const DETAIL: Readonly<Record<string, 'apes' | 'persons' | 'faces' | 'motorVehicles'>> = {
  '3': 'apes',
  '11': 'persons',
  '12': 'faces',
  '13': 'motorVehicles',
};
const LIST: Readonly<Record<string, [string, string]>> = {
  apes: ['DeviceList', 'APEObject'],
  persons: ['PersonObjectList', 'PersonObject'],
  faces: ['FaceObjectList', 'FaceObject'],
  motorVehicles: ['MotorVehicleObjectList', 'MotorVehicleObject'],
};

export interface Subscription {
  readonly subscribeId: string;
  readonly platformId: string;
  readonly title: string;
  readonly kinds: readonly string[];
  readonly resources: readonly string[];
  readonly receiveAddr: string;
  readonly reportIntervalS: number;
  readonly withImages: boolean;
  readonly beginsAt?: Date;
  readonly endsAt?: Date;
}

export type SubscribeRequest =
  | {
      readonly ok: true;
      readonly operation: 'subscribe';
      readonly subscription: Omit<Subscription, 'platformId'>;
    }
  | { readonly ok: true; readonly operation: 'cancel'; readonly subscribeId: string }
  | { readonly ok: false; readonly id: string; readonly code: number; readonly reason: string };

const text = (v: unknown): string =>
  typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
const list = (v: unknown): string[] =>
  text(v)
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function parseSubscribe(o: Obj, lowerId: string, cancelId?: string): SubscribeRequest {
  const subscribeId = cancelId ?? text(o.SubscribeID);
  const fail = (reason: string, code = 8) => ({ ok: false as const, id: subscribeId, code, reason });
  if (!isGat1400CommandId(subscribeId)) return fail('SubscribeID must be 33 characters');
  const operate = text(o.OperateType) || (cancelId ? '1' : '0');
  if (operate === '1') return { ok: true, operation: 'cancel', subscribeId };
  if (operate !== '0') return fail('OperateType must be 0 (subscribe) or 1 (cancel)');
  const details = list(o.SubscribeDetail);
  const kinds = [...new Set(details.map((d) => DETAIL[d]).filter((k) => k !== undefined))];
  if (kinds.length === 0)
    return fail(
      'SubscribeDetail must name 3 (device catalogue), 11 (persons), 12 (faces) or 13 (motor vehicles)',
      4,
    );
  const resources = list(o.ResourceURI);
  if (resources.some((r) => !isGat1400Id(r))) return fail('ResourceURI must be 20-digit ids');
  const receiveAddr = text(o.ReceiveAddr);
  try {
    const url = new URL(receiveAddr);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    return fail('ReceiveAddr must be an http(s) URL');
  }
  for (const f of ['BeginTime', 'EndTime'])
    if (o[f] !== undefined && o[f] !== '' && !isStrictGat1400Time(o[f]))
      return fail(`${f} must be yyyyMMddHHmmss`);
  const interval = Number(text(o.ReportInterval) || 0);
  if (!Number.isInteger(interval) || interval < 0 || interval > 86_400)
    return fail('ReportInterval must be seconds');
  const beginsAt = parseGat1400Time(o.BeginTime);
  const endsAt = parseGat1400Time(o.EndTime);
  return {
    ok: true,
    operation: 'subscribe',
    subscription: {
      subscribeId,
      title: text(o.Title).slice(0, 200),
      kinds,
      // Our own id (the whole 视图库) means every device.
      resources: resources.includes(lowerId) ? [] : resources,
      receiveAddr,
      reportIntervalS: interval,
      withImages: text(o.ResultImageDeclare) !== '-1',
      ...(beginsAt ? { beginsAt } : {}),
      ...(endsAt ? { endsAt } : {}),
    },
  };
}

export function matches(s: Subscription, object: UploadObject, now: Date): boolean {
  if (!s.kinds.includes(object.kind)) return false;
  if (s.beginsAt && now < s.beginsAt) return false;
  if (s.endsAt && now > s.endsAt) return false;
  return (
    s.resources.length === 0 || s.resources.includes(String(object.body.DeviceID ?? object.body.ApeID ?? ''))
  );
}

/**
 * The notification carrying `object` for `s`. Its id derives from the object and the
 * subscription (a re-send is a duplicate); with a ReportInterval it waits for the next report
 * slot, so the link sends the interval's notifications together.
 */
export function subscribeNotification(
  s: Subscription,
  object: UploadObject,
  ctx: BuildContext,
  now: Date,
): UploadObject {
  const notificationId = commandId(
    ctx.lowerId.slice(0, 12),
    COMMAND_KIND.NOTIFICATION,
    object.capturedAt,
    stableSerial(`${s.subscribeId}/${object.objectId}`, 'subscription'),
  );
  const [listName, item] = LIST[object.kind]!;
  const slot =
    s.reportIntervalS > 0
      ? Math.ceil(now.getTime() / (s.reportIntervalS * 1000)) * s.reportIntervalS * 1000
      : 0;
  return {
    ...object,
    kind: 'subscribeNotifications',
    objectId: notificationId,
    targetUrl: s.receiveAddr,
    images: s.withImages ? object.images.map((i) => ({ ...i, into: `${listName}.${item}.0` })) : [],
    ...(slot ? { notBefore: new Date(slot) } : {}),
    body: {
      NotificationID: notificationId,
      SubscribeID: s.subscribeId,
      Title: s.title,
      TriggerTime: formatGat1400Time(now),
      InfoIDs: object.objectId,
      ExecuteOperation: 1,
      [listName]: { [item]: [object.body] },
    },
  };
}
