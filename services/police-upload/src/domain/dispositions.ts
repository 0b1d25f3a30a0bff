/**
 * A GA/T 1400 DispositionObject → what it asks for (pure). Plates become vehicle watchlist
 * entries (vehicle-access), resident ID numbers person watchlist entries (identity), through
 * anfang.police.command.v1; OperateType 1 withdraws.
 */
import {
  formatGat1400Time,
  isGat1400CommandId,
  isStrictGat1400Time,
  parseGat1400Time,
  type Obj,
} from '@anfang/gat1400';
import { isValidIdNumber } from '@anfang/platform/crypto';

export type DispositionTargetKind = 'plate' | 'id_number';

export type DispositionRequest =
  | {
      readonly ok: true;
      readonly operation: 'set';
      readonly dispositionId: string;
      readonly title: string;
      readonly category: string;
      readonly target: DispositionTargetKind;
      /** The plate, or the ID number (personal data: stored encrypted, never logged). */
      readonly feature: string;
      readonly priority: 1 | 2 | 3;
      readonly applicantName: string;
      readonly applicantOrg: string;
      readonly beginsAt?: Date;
      readonly endsAt?: Date;
      readonly receiveAddr: string;
      readonly reason: string;
    }
  | {
      readonly ok: true;
      readonly operation: 'withdraw';
      readonly dispositionId: string;
      readonly reason: string;
    }
  | { readonly ok: false; readonly id: string; readonly code: number; readonly reason: string };

const text = (v: unknown): string =>
  typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';

/** A Chinese plate: province + letter + 5–6 letters/digits (new-energy plates have 6). */
const PLATE = /^[\u4e00-\u9fa5][A-Z][A-Z0-9]{4,5}[A-Z0-9\u4e00-\u9fa5]$/;

export function parseDisposition(o: Obj, withdrawId?: string): DispositionRequest {
  const dispositionId = withdrawId ?? text(o.DispositionID);
  const fail = (reason: string, code = 8) => ({ ok: false as const, id: dispositionId, code, reason });
  if (!isGat1400CommandId(dispositionId)) return fail('DispositionID must be 33 characters');
  const operate = text(o.OperateType) || (withdrawId ? '1' : '0');
  const reason = text(o.Reason);
  if (operate === '1') return { ok: true, operation: 'withdraw', dispositionId, reason };
  if (operate !== '0') return fail('OperateType must be 0 (set) or 1 (withdraw)');
  const feature = text(o.TargetFeature)
    .replace(/[\s·•.\-_]/g, '')
    .toUpperCase();
  const target: DispositionTargetKind | undefined = PLATE.test(feature)
    ? 'plate'
    : /^\d{17}[\dX]$/.test(feature)
      ? 'id_number'
      : undefined;
  if (!target) return fail('TargetFeature must be a plate number or an 18-character ID number');
  if (target === 'id_number' && !isValidIdNumber(feature))
    return fail('TargetFeature is not a valid ID number (check character)');
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
  const level = Number(text(o.PriorityLevel) || 2);
  const beginsAt = parseGat1400Time(o.BeginTime);
  const endsAt = parseGat1400Time(o.EndTime);
  return {
    ok: true,
    operation: 'set',
    dispositionId,
    title: text(o.Title).slice(0, 200),
    category: text(o.DispositionCategory),
    target,
    feature,
    priority: level === 1 || level === 3 ? level : 2,
    applicantName: text(o.ApplicantName).slice(0, 100),
    applicantOrg: text(o.ApplicantOrg).slice(0, 200),
    ...(beginsAt ? { beginsAt } : {}),
    ...(endsAt ? { endsAt } : {}),
    receiveAddr,
    reason: reason.slice(0, 500),
  };
}

/** DispositionStatus of the standard. */
export const DISPOSITION_STATUS = {
  IN_EFFECT: '0',
  WITHDRAWN: '1',
  EXPIRED: '2',
  NOT_IN_EFFECT: '9',
} as const;

/** A disposition as recorded here, for GET /VIID/Dispositions and status notifications. */
export interface StoredDisposition {
  readonly dispositionId: string;
  readonly platformId: string;
  readonly title: string;
  readonly category: string;
  /** The plate, or the ID number masked. */
  readonly featureShown: string;
  readonly priority: number;
  readonly applicantName: string;
  readonly applicantOrg: string;
  readonly reason: string;
  readonly receiveAddr: string;
  readonly withdrawn: boolean;
  /** identity's or vehicle-access's result of setting it. */
  readonly outcome: 'pending' | 'applied' | 'rejected';
  readonly outcomeDetail: string;
  readonly beginsAt?: Date;
  readonly endsAt?: Date;
  readonly withdrawnAt?: Date;
}

export function dispositionStatus(d: StoredDisposition, now: Date): string {
  if (d.withdrawn) return DISPOSITION_STATUS.WITHDRAWN;
  if (d.endsAt && d.endsAt <= now) return DISPOSITION_STATUS.EXPIRED;
  if (d.outcome === 'rejected') return DISPOSITION_STATUS.NOT_IN_EFFECT;
  return DISPOSITION_STATUS.IN_EFFECT;
}

/** The standard's DispositionObject of a stored disposition (an ID number only masked). */
export function dispositionObject(d: StoredDisposition, now: Date): Obj {
  return {
    DispositionID: d.dispositionId,
    Title: d.title,
    DispositionCategory: d.category,
    TargetFeature: d.featureShown,
    PriorityLevel: d.priority,
    ApplicantName: d.applicantName,
    ApplicantOrg: d.applicantOrg,
    ...(d.beginsAt ? { BeginTime: formatGat1400Time(d.beginsAt) } : {}),
    ...(d.endsAt ? { EndTime: formatGat1400Time(d.endsAt) } : {}),
    OperateType: d.withdrawn ? 1 : 0,
    DispositionStatus: dispositionStatus(d, now),
    ReceiveAddr: d.receiveAddr,
    Reason: d.reason,
    ...(d.withdrawnAt ? { DispositionRemoveTime: formatGat1400Time(d.withdrawnAt) } : {}),
    ...(d.outcome === 'rejected' && d.outcomeDetail ? { StatusString: d.outcomeDetail } : {}),
  };
}

export interface DispositionQuery {
  readonly dispositionId?: string;
  readonly status?: string;
  readonly targetFeature?: string;
  /** 0-based. */
  readonly offset: number;
  readonly limit: number;
}

const MAX_PAGE = 1000;

/**
 * The conditions GET /VIID/Dispositions understands: DispositionID, DispositionStatus,
 * TargetFeature (plates), and the paging RecordStartNo (1-based) / PageRecordNum. Anything else
 * is refused with its name, not silently ignored (the platform would take a partial answer
 * for the whole).
 */
export function dispositionQuery(
  conditions: ReadonlyMap<string, string>,
): DispositionQuery | { readonly failure: string } {
  const known = new Set([
    'DispositionID',
    'DispositionStatus',
    'TargetFeature',
    'RecordStartNo',
    'PageRecordNum',
  ]);
  for (const field of conditions.keys())
    if (!known.has(field)) return { failure: `condition ${field} is not supported` };
  const positive = (field: string, fallback: number): number | undefined => {
    const v = conditions.get(field);
    if (v === undefined || v === '') return fallback;
    return /^\d{1,9}$/.test(v) && Number(v) >= 1 ? Number(v) : undefined;
  };
  const start = positive('RecordStartNo', 1);
  const size = positive('PageRecordNum', 100);
  if (start === undefined || size === undefined)
    return { failure: 'RecordStartNo and PageRecordNum must be positive numbers' };
  const status = conditions.get('DispositionStatus');
  if (status !== undefined && !Object.values(DISPOSITION_STATUS).includes(status as '0'))
    return { failure: 'DispositionStatus must be 0, 1, 2 or 9' };
  const id = conditions.get('DispositionID');
  const feature = conditions.get('TargetFeature');
  return {
    ...(id ? { dispositionId: id } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(feature ? { targetFeature: feature.replace(/[\s·•.\-_]/g, '').toUpperCase() } : {}),
    offset: start - 1,
    limit: Math.min(size, MAX_PAGE),
  };
}
