/**
 * Device commands as Hikvision ISAPI requests (the platform calls the device, HTTP Digest) and
 * the device's answers as a command result. Pure: the pusher (src/push/isapi-commands.ts) sends
 * the requests in order and stops at the first refusal.
 *
 * Person numbers: ISAPI `employeeNo` is at most 32 characters, a platform person id (UUID) is
 * 36 — the UUID without its dashes (32 hex digits) is the device-side person number, so the
 * same person has the same number on every terminal and a removal finds what an upsert created.
 *
 * Enrolment faces go to the terminal's face library (`PUT /ISAPI/Intelligent/FDLib/FDSetUp`,
 * multipart: the `FaceDataRecord` document and the picture as `img`), bound to the person by
 * `FPID` = employeeNo. The plan names the picture by its `ImageRef`; the pusher reads the bytes
 * when it sends (src/push/face-images.ts says from where, and why not a URL or inline bytes).
 */
import { anfang } from '@anfang/contracts';
import type { CommandKind } from './commands.ts';

const { AccessListOperation } = anfang.device.v1;
const { CredentialType } = anfang.common.v1;

export interface IsapiRequest {
  readonly method: 'PUT' | 'POST';
  /** Path and query on the device. */
  readonly path: string;
  readonly contentType: 'application/xml' | 'application/json' | 'multipart/form-data';
  /** The document: the whole body, or (multipart) its `FaceDataRecord` part. */
  readonly body: string;
  /** Multipart only: the picture sent as the `img` part, read when the request is sent. */
  readonly image?: FaceImageRef;
}

/** An enrolment face as the command names it (anfang.common.v1.ImageRef: full bucket key). */
export interface FaceImageRef {
  readonly objectKey: string;
  /** Lowercase hex; empty when the command does not say. */
  readonly sha256: string;
}

/** The queued command as stored (commandJson: the DeviceCommand's JSON with `command` = its kind). */
export type StoredCommand = Record<string, unknown>;

export type IsapiPlan = { readonly requests: IsapiRequest[] } | { readonly unsupported: string };

const XMLNS = 'http://www.isapi.org/ver20/XMLSchema';

/** China Standard Time in POSIX form, as Hikvision devices spell it (`CST-8:00:00`). */
const CHINA_TIME_ZONE = 'CST-8:00:00';

export function isapiRequestsFor(command: StoredCommand, now: Date): IsapiPlan {
  const kind = command['command'] as CommandKind | undefined;
  switch (kind) {
    case 'openDoor': {
      const door = positive(record(command['openDoor'])['doorNo']) ?? 1;
      return {
        requests: [
          xml(
            'PUT',
            `/ISAPI/AccessControl/RemoteControl/door/${door}`,
            'RemoteControlDoor',
            '<cmd>open</cmd>',
          ),
        ],
      };
    }
    case 'openBarrier': {
      const lane = positive(record(command['openBarrier'])['lane']) ?? 1;
      return {
        requests: [
          xml(
            'PUT',
            `/ISAPI/Parking/channels/${lane}/barrierGate`,
            'BarrierGate',
            '<ctrlMode>open</ctrlMode>',
          ),
        ],
      };
    }
    case 'timeSync':
      return {
        requests: [
          xml(
            'PUT',
            '/ISAPI/System/time',
            'Time',
            `<timeMode>manual</timeMode><localTime>${beijingLocal(now)}</localTime><timeZone>${CHINA_TIME_ZONE}</timeZone>`,
          ),
        ],
      };
    case 'reboot':
      return {
        requests: [{ method: 'PUT', path: '/ISAPI/System/reboot', contentType: 'application/xml', body: '' }],
      };
    case 'accessListUpdate':
      return accessListRequests(record(command['accessListUpdate']));
    default:
      return { unsupported: `command ${String(kind)} has no ISAPI form` };
  }
}

/** The device-side person number of a platform person id. */
export function employeeNoOf(personId: string): string {
  const compact = personId.replace(/-/g, '');
  return compact.length <= 32 ? compact : compact.slice(0, 32);
}

function accessListRequests(update: Record<string, unknown>): IsapiPlan {
  const entries = Array.isArray(update['entries']) ? (update['entries'] as unknown[]).map(record) : [];
  const requests: IsapiRequest[] = [];
  if (update['fullReplace'] === true)
    requests.push(
      json('PUT', '/ISAPI/AccessControl/UserInfoDetail/Delete?format=json', {
        UserInfoDetail: { mode: 'all' },
      }),
    );
  const removed: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const personId = typeof entry['personId'] === 'string' ? entry['personId'] : '';
    if (personId === '') return { unsupported: `entries[${index}]: no personId` };
    const employeeNo = employeeNoOf(personId);
    const operation = operationOf(entry['operation']);
    if (operation === AccessListOperation.ACCESS_LIST_OPERATION_REMOVE) {
      removed.push(employeeNo);
      continue;
    }
    if (operation !== AccessListOperation.ACCESS_LIST_OPERATION_UPSERT)
      return { unsupported: `entries[${index}]: operation must be upsert or remove` };
    const validity = record(entry['validity']);
    requests.push(
      json('POST', '/ISAPI/AccessControl/UserInfo/SetUp?format=json', {
        UserInfo: {
          employeeNo,
          userType: 'normal',
          Valid: {
            enable: true,
            beginTime: beijingLocal(timeOf(validity['startTime']) ?? new Date(0)).slice(0, 19),
            endTime: beijingLocal(
              timeOf(validity['endTime']) ?? new Date(Date.UTC(2037, 11, 31, 15, 59, 59)),
            ).slice(0, 19),
            timeType: 'local',
          },
          doorRight: '1',
          RightPlan: [{ doorNo: 1, planTemplateNo: '1' }],
        },
      }),
    );
    const value = typeof entry['credentialValue'] === 'string' ? entry['credentialValue'].trim() : '';
    const credential = credentialTypeOf(entry['credentialType']);
    if (credential === CredentialType.CREDENTIAL_TYPE_CARD && value !== '')
      requests.push(
        json('POST', '/ISAPI/AccessControl/CardInfo/SetUp?format=json', {
          CardInfo: { employeeNo, cardNo: value, cardType: 'normalCard' },
        }),
      );
    const face = record(entry['faceImage']);
    if (Object.keys(face).length > 0) {
      const objectKey = typeof face['objectKey'] === 'string' ? face['objectKey'].trim() : '';
      if (objectKey === '') return { unsupported: `entries[${index}]: faceImage has no objectKey` };
      const sha256 = typeof face['sha256'] === 'string' ? face['sha256'].trim().toLowerCase() : '';
      requests.push({
        method: 'PUT',
        path: '/ISAPI/Intelligent/FDLib/FDSetUp?format=json',
        contentType: 'multipart/form-data',
        // Library 1 of the access terminal's faces ("blackFD" is Hikvision's name for the list
        // it matches against, not a block list).
        body: JSON.stringify({ faceLibType: 'blackFD', FDID: '1', FPID: employeeNo }),
        image: { objectKey, sha256 },
      });
    }
  }
  if (removed.length > 0)
    requests.push(
      json('PUT', '/ISAPI/AccessControl/UserInfo/Delete?format=json', {
        UserInfoDelCond: { EmployeeNoList: removed.map((employeeNo) => ({ employeeNo })) },
      }),
    );
  return { requests };
}

export type IsapiOutcome =
  | { readonly ok: true }
  /** The device refused the request: the command failed (a resend would be refused again). */
  | { readonly ok: false; readonly final: true; readonly detail: string }
  /** The device could not take it now (busy, 5xx): try again on the next round. */
  | { readonly ok: false; readonly final: false; readonly detail: string };

/**
 * A device answer. ISAPI answers `ResponseStatus` (XML) or `{"statusCode": 1, …}` (JSON);
 * statusCode 1 is OK, 2 busy (retry), 3–7 refusals with `subStatusCode` / `errorMsg` as the reason.
 */
export function isapiOutcome(httpStatus: number, body: string): IsapiOutcome {
  const statusCode = pick(body, 'statusCode');
  const code = statusCode === '' ? NaN : Number(statusCode);
  const sub = pick(body, 'subStatusCode');
  const message = pick(body, 'errorMsg') || pick(body, 'statusString');
  const detail = [`HTTP ${httpStatus}`, Number.isFinite(code) ? `statusCode ${code}` : '', sub, message]
    .filter((s, i, all) => s !== '' && all.indexOf(s) === i)
    .join(' ');
  if (httpStatus >= 200 && httpStatus < 300 && (!Number.isFinite(code) || code === 1)) return { ok: true };
  if (httpStatus >= 500 || httpStatus === 429 || code === 2) return { ok: false, final: false, detail };
  return { ok: false, final: true, detail };
}

/** A field of an XML or JSON answer, by name, without parsing either strictly (answers vary by firmware). */
function pick(body: string, name: string): string {
  const xmlMatch = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body);
  if (xmlMatch) return xmlMatch[1]!.trim();
  const jsonMatch = new RegExp(`"${name}"\\s*:\\s*("([^"]*)"|-?\\d+)`).exec(body);
  return jsonMatch ? (jsonMatch[2] ?? jsonMatch[1]!).trim() : '';
}

function xml(method: 'PUT' | 'POST', path: string, root: string, inner: string): IsapiRequest {
  return {
    method,
    path,
    contentType: 'application/xml',
    body: `<?xml version="1.0" encoding="UTF-8"?><${root} version="2.0" xmlns="${XMLNS}">${inner}</${root}>`,
  };
}

function json(method: 'PUT' | 'POST', path: string, body: object): IsapiRequest {
  return { method, path, contentType: 'application/json', body: JSON.stringify(body) };
}

/** `yyyy-MM-ddTHH:mm:ss+08:00`: devices are set in China Standard Time (no daylight saving). */
function beijingLocal(date: Date): string {
  return `${new Date(date.getTime() + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}

function timeOf(value: unknown): Date | undefined {
  if (typeof value === 'string' && value !== '') {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  const seconds = Number(record(value)['seconds']);
  return Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000) : undefined;
}

function operationOf(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string'
    ? ((AccessListOperation as unknown as Record<string, number>)[value] ??
        AccessListOperation.ACCESS_LIST_OPERATION_UNSPECIFIED)
    : AccessListOperation.ACCESS_LIST_OPERATION_UNSPECIFIED;
}

function credentialTypeOf(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string'
    ? ((CredentialType as unknown as Record<string, number>)[value] ??
        CredentialType.CREDENTIAL_TYPE_UNSPECIFIED)
    : CredentialType.CREDENTIAL_TYPE_UNSPECIFIED;
}

function positive(value: unknown): number | undefined {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
