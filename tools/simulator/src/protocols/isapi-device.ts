/**
 * A Hikvision access terminal / ANPR camera as the platform sees it when it pushes commands:
 * an HTTP server that demands Digest (MD5, qop=auth, one nonce per challenge) with the device's
 * secret and accepts the ISAPI calls device-ingest makes — remote door control, barrier gate,
 * clock, reboot, the access list (UserInfo, CardInfo, UserInfo/Delete, UserInfoDetail/Delete) and
 * enrolment faces (FDLib/FDSetUp, multipart: `FaceDataRecord` + the JPEG as `img`) — answering `ResponseStatus` as the firmware does (XML for XML calls, JSON for `?format=json`).
 * What it was told is kept in `state`, so a test (or the simulator's log) can see the door open.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  formatDigestChallenge,
  newDigestChallenge,
  parseDigestAuthorization,
  verifyDigest,
} from '@anfang/gat1400';

export interface IsapiDeviceOptions {
  readonly host?: string;
  /** 0 = any free port. */
  readonly port?: number;
  readonly username?: string;
  readonly secret: string;
  /** Answer every call with this status code (a terminal refusing, for tests). */
  readonly refuseWith?: {
    readonly http: number;
    readonly statusCode: number;
    readonly subStatusCode: string;
  };
  /** Told after each call the device carried out, `METHOD path` (the simulator follows its clock). */
  readonly onCall?: (call: string, body: string) => void;
}

/** The largest face picture the terminal's face library takes. */
const MAX_FACE_BYTES = 200 * 1024;

export interface IsapiDeviceState {
  readonly doorsOpened: number[];
  readonly barriersOpened: number[];
  /** employeeNo → the UserInfo last set. */
  readonly users: Map<string, Record<string, unknown>>;
  /** cardNo → employeeNo. */
  readonly cards: Map<string, string>;
  /** employeeNo (FPID) → the enrolled face picture. */
  readonly faces: Map<string, { readonly bytes: number; readonly sha256: string }>;
  readonly clock: string[];
  reboots: number;
  /** Every authenticated call, `METHOD path`. */
  readonly calls: string[];
  /** Calls refused for missing or wrong credentials. */
  unauthorized: number;
}

export interface IsapiDevice {
  readonly port: number;
  readonly state: IsapiDeviceState;
  close(): Promise<void>;
}

const REALM = 'DS-K1T671M';

export async function startIsapiDevice(options: IsapiDeviceOptions): Promise<IsapiDevice> {
  const username = options.username ?? 'admin';
  const nonces = new Set<string>();
  const state: IsapiDeviceState = {
    doorsOpened: [],
    barriersOpened: [],
    users: new Map(),
    cards: new Map(),
    faces: new Map(),
    clock: [],
    reboots: 0,
    calls: [],
    unauthorized: 0,
  };

  const challenge = (res: ServerResponse) => {
    const c = newDigestChallenge(REALM);
    nonces.add(c.nonce);
    res.writeHead(401, { 'www-authenticate': formatDigestChallenge(c), 'content-type': 'application/xml' });
    res.end(status(false, 4, 'Invalid Operation', 'notAuthenticated'));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const body = raw.toString('utf8');
    const credentials = parseDigestAuthorization(req.headers.authorization);
    if (!credentials) return challenge(res);
    const valid =
      credentials.username === username &&
      nonces.delete(credentials.nonce) &&
      credentials.uri === req.url &&
      verifyDigest(credentials, req.method ?? '', options.secret);
    if (!valid) {
      state.unauthorized += 1;
      return challenge(res);
    }
    const url = new URL(req.url ?? '/', 'http://device.invalid');
    const json = url.searchParams.get('format') === 'json';
    state.calls.push(`${req.method} ${url.pathname}`);
    const answer = (http: number, ok: boolean, code: number, text: string, sub: string) => {
      res.writeHead(http, { 'content-type': json ? 'application/json' : 'application/xml' });
      res.end(
        json
          ? JSON.stringify({
              statusCode: code,
              statusString: text,
              subStatusCode: sub,
              ...(ok ? {} : { errorMsg: sub }),
            })
          : status(ok, code, text, sub),
      );
    };
    if (options.refuseWith)
      return answer(
        options.refuseWith.http,
        false,
        options.refuseWith.statusCode,
        'Invalid Operation',
        options.refuseWith.subStatusCode,
      );
    const ok = () => {
      options.onCall?.(route, body);
      answer(200, true, 1, 'OK', 'ok');
    };
    const bad = (sub: string) => answer(400, false, 6, 'Invalid Content', sub);
    const route = `${req.method} ${url.pathname}`;
    let m: RegExpExecArray | null;
    if ((m = /^PUT \/ISAPI\/AccessControl\/RemoteControl\/door\/(\d+)$/.exec(route))) {
      if (!/<cmd>open<\/cmd>/.test(body)) return bad('badXmlContent');
      state.doorsOpened.push(Number(m[1]));
      return ok();
    }
    if ((m = /^PUT \/ISAPI\/Parking\/channels\/(\d+)\/barrierGate$/.exec(route))) {
      if (!/<ctrlMode>open<\/ctrlMode>/.test(body)) return bad('badXmlContent');
      state.barriersOpened.push(Number(m[1]));
      return ok();
    }
    if (route === 'PUT /ISAPI/System/time') {
      const local = /<localTime>([^<]+)<\/localTime>/.exec(body);
      if (!local) return bad('badXmlContent');
      state.clock.push(local[1]!);
      return ok();
    }
    if (route === 'PUT /ISAPI/System/reboot') {
      state.reboots += 1;
      return ok();
    }
    if (route === 'PUT /ISAPI/Intelligent/FDLib/FDSetUp') {
      const form = await new Response(raw, {
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      })
        .formData()
        .catch(() => undefined);
      const faceRecord = parseJson(String(form?.get('FaceDataRecord') ?? ''));
      const img = form?.get('img');
      const employeeNo = String(faceRecord?.['FPID'] ?? '');
      if (!faceRecord || faceRecord['faceLibType'] !== 'blackFD' || String(faceRecord['FDID']) !== '1')
        return bad('badJsonContent');
      if (!state.users.has(employeeNo)) return bad('employeeNoNotExist');
      if (!(img instanceof Blob)) return bad('faceDataPictureMissing');
      const picture = Buffer.from(await img.arrayBuffer());
      if (picture.length > MAX_FACE_BYTES || picture[0] !== 0xff || picture[1] !== 0xd8)
        return bad('faceDataFormatError');
      state.faces.set(employeeNo, {
        bytes: picture.length,
        sha256: createHash('sha256').update(picture).digest('hex'),
      });
      return ok();
    }
    const doc = parseJson(body);
    if (route === 'POST /ISAPI/AccessControl/UserInfo/SetUp') {
      const user = record(doc?.['UserInfo']);
      const employeeNo = user['employeeNo'];
      if (typeof employeeNo !== 'string' || employeeNo === '' || employeeNo.length > 32)
        return bad('employeeNoError');
      state.users.set(employeeNo, user);
      return ok();
    }
    if (route === 'POST /ISAPI/AccessControl/CardInfo/SetUp') {
      const card = record(doc?.['CardInfo']);
      const employeeNo = String(card['employeeNo'] ?? '');
      if (!state.users.has(employeeNo)) return bad('employeeNoNotExist');
      if (typeof card['cardNo'] !== 'string' || card['cardNo'] === '') return bad('cardNoError');
      state.cards.set(card['cardNo'], employeeNo);
      return ok();
    }
    if (route === 'PUT /ISAPI/AccessControl/UserInfo/Delete') {
      const list = record(doc?.['UserInfoDelCond'])['EmployeeNoList'];
      if (!Array.isArray(list)) return bad('badJsonContent');
      for (const item of list) deleteUser(String(record(item)['employeeNo'] ?? ''));
      return ok();
    }
    if (route === 'PUT /ISAPI/AccessControl/UserInfoDetail/Delete') {
      if (record(doc?.['UserInfoDetail'])['mode'] !== 'all') return bad('badJsonContent');
      for (const employeeNo of [...state.users.keys()]) deleteUser(employeeNo);
      return ok();
    }
    answer(404, false, 4, 'Invalid Operation', 'notSupport');
  };

  const deleteUser = (employeeNo: string) => {
    state.users.delete(employeeNo);
    state.faces.delete(employeeNo);
    for (const [card, owner] of state.cards) if (owner === employeeNo) state.cards.delete(card);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function status(ok: boolean, code: number, text: string, sub: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' +
    `<requestURL></requestURL><statusCode>${code}</statusCode><statusString>${text}</statusString>` +
    `<subStatusCode>${sub}</subStatusCode>${ok ? '' : `<errorMsg>${sub}</errorMsg>`}</ResponseStatus>`
  );
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    return record(JSON.parse(body));
  } catch {
    return undefined;
  }
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
