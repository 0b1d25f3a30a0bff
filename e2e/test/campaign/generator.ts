/**
 * The bad-input campaign's payloads: from one valid document per protocol (made by the simulator's
 * protocol code, so it is what a real device sends), deterministic mutations that each make the
 * payload unusable in a way the protocol defines — unreadable bodies, wrong envelopes, required
 * fields missing or poisoned, impossible times, pictures that are not pictures, wrong media types.
 * Each case says which refusal class it belongs to, so a run reports counts per protocol and
 * mutation, and a mutation that is accepted is a finding, not noise.
 */
import { seededRandom, type Random } from '@anfang/simulator';

export type Protocol = 'generic' | 'gat1400' | 'isapi' | 'itsapi' | 'gateway';

export interface Case {
  readonly protocol: Protocol;
  /** What was done to the valid document, e.g. `field:time=garbage`. */
  readonly mutation: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
  /** Which of a protocol's documents was mutated (ISAPI: `xml` from a sensor, `json` from a door). */
  readonly variant?: string;
}

export interface Templates {
  /** `{"events":[…]}` of the generic API, one event of each type the device sends. */
  readonly generic: { events: Record<string, unknown>[] };
  /** `{"FaceListObject":{"FaceObject":[…]}}`. */
  readonly gatFaces: Record<string, unknown>;
  /** ISAPI alert as bare XML (a perimeter trigger). */
  readonly isapiXml: string;
  /** ISAPI `AccessControllerEvent` JSON. */
  readonly isapiJson: Record<string, unknown>;
  /** ITSAPI TollgateInfo. */
  readonly itsapi: Record<string, unknown>;
  /** The gateway's REST calls to attack: a write with its valid body, or a read. */
  readonly gateway: readonly {
    method: 'GET' | 'POST' | 'PATCH';
    path: string;
    body?: Record<string, unknown>;
  }[];
}

const REMOVE = Symbol('remove');

/** Values no field of any protocol takes where a string id, time or enum is required. */
const POISON: readonly unknown[] = [
  null,
  {},
  [],
  [[[[[[[[[[[]]]]]]]]]]],
  true,
  -1,
  '1e309',
  '',
  ' ',
  '\u0000',
  '\ud800',
  '🙂'.repeat(50),
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '../../../../etc/passwd',
  'x'.repeat(5000),
];

const BAD_TIMES: readonly unknown[] = [
  'yesterday',
  '2025-13-45T25:61:61Z',
  '0000-00-00T00:00:00Z',
  '20251399999999',
  -1,
  1e20,
  {},
  null,
];

/** An event id is the device's own free text of 1–128 characters: anything else is refused. */
const BAD_IDS: readonly unknown[] = [REMOVE, null, {}, [], true, '', 'x'.repeat(129)];

const ENUM_FIELDS = new Set(['liveness', 'direction', 'localDecision', 'plateColor', 'sensorKind', 'state']);

/** Strings that are no base64 at all (a GA/T picture's bytes are not sniffed, only decoded). */
const NOT_BASE64: readonly string[] = ['@@@@', '!!not base64!!', 'A'];

const BAD_BASE64: readonly string[] = [
  ...NOT_BASE64,
  '@@@@',
  '!!not base64!!',
  'AA',
  Buffer.from('plain text, no picture').toString('base64'),
];

/** A copy of `doc` with the value at `path` replaced (or removed when `value` is `REMOVE`). */
function setPath(doc: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value === REMOVE) delete node[last];
  else node[last] = value;
  return copy;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const show = (value: unknown): string => {
  if (value === REMOVE) return 'removed';
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 24 ? `${text.slice(0, 21)}…` : text;
};

/** Body-level mutations every JSON protocol must refuse. */
function unreadable(random: Random, valid: Buffer): { mutation: string; body: Buffer } {
  switch (random.int(0, 5)) {
    case 0: {
      const cut = random.int(1, valid.length - 1);
      return { mutation: `truncated@${cut}`, body: valid.subarray(0, cut) };
    }
    case 1:
      return {
        mutation: 'random-bytes',
        body: Buffer.from(Array.from({ length: random.int(1, 512) }, () => random.int(0, 255))),
      };
    case 2:
      return { mutation: 'empty-body', body: Buffer.alloc(0) };
    case 3:
      return { mutation: 'trailing-garbage', body: Buffer.concat([valid, Buffer.from('}{"x":')]) };
    case 4:
      return { mutation: 'not-an-object', body: json(random.pick(['text', 42, null, [1, 2, 3]])) };
    default:
      return {
        mutation: 'invalid-utf8-token',
        body: Buffer.concat([Buffer.from('{"'), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from('":1}')]),
      };
  }
}

function genericCase(random: Random, t: Templates): Omit<Case, 'protocol' | 'method' | 'path'> {
  const valid = json(t.generic);
  const events = t.generic.events;
  const index = random.int(0, events.length - 1);
  const event = events[index]!;
  const contentType = 'application/json';
  switch (random.int(0, 9)) {
    case 0:
      return { ...unreadable(random, valid), contentType };
    case 1: {
      const field = random.pick(['type', 'eventId', 'time']);
      const value = random.pick(
        field === 'time' ? [REMOVE, ...BAD_TIMES] : field === 'eventId' ? BAD_IDS : [REMOVE, ...POISON],
      );
      // Every event gets the same poison, so no usable event is left in the batch.
      const doc = { events: events.map((e) => setPath(e, [field], value)) };
      return { mutation: `field:${field}=${show(value)}`, contentType, body: json(doc) };
    }
    case 2: {
      const type = random.pick([
        'face_seen',
        'FACE_CAPTURED',
        'plate',
        'heartbeat',
        '__proto__',
        'constructor',
      ]);
      return { mutation: `type=${type}`, contentType, body: json({ events: [{ ...event, type }] }) };
    }
    case 3: {
      const images = [{ kind: 'face', data: random.pick(BAD_BASE64) }];
      return { mutation: 'image:not-a-picture', contentType, body: json({ events: [{ ...event, images }] }) };
    }
    case 4: {
      const images = random.pick([
        [{ kind: 'face' }],
        [{ data: '/9j/', part: 'x.jpg' }],
        Array.from({ length: 17 }, () => ({ data: '/9j/' })),
        'not-a-list',
      ]);
      return { mutation: 'image:shape', contentType, body: json({ events: [{ ...event, images }] }) };
    }
    case 5: {
      const body = random.pick([{}, { events: [] }, { events: 'x' }, { events: [null] }, { evens: events }]);
      return { mutation: `envelope=${show(body)}`, contentType, body: json(body) };
    }
    case 6:
      return {
        mutation: 'too-many-events',
        contentType,
        body: json({ events: Array.from({ length: 501 }, (_, i) => ({ ...event, eventId: `bulk-${i}` })) }),
      };
    case 7: {
      const type = random.pick([
        'text/plain',
        'application/xml',
        'image/jpeg',
        'application/x-www-form-urlencoded',
      ]);
      return { mutation: `content-type=${type}`, contentType: type, body: valid };
    }
    case 8: {
      // An enum field of the event given a value outside its vocabulary.
      const field = random.pick(Object.keys(event).filter((k) => ENUM_FIELDS.has(k)));
      const value = random.pick(['sideways', 'GENUINE!', 42, ['in'], { type: 'card' }]);
      return {
        mutation: `enum:${field}=${show(value)}`,
        contentType,
        body: json({ events: [setPath(event, [field], value)] }),
      };
    }
    default: {
      const boundary = 'xYz';
      const body = Buffer.from(
        random.pick([
          `--${boundary}\r\nContent-Disposition: form-data; name="other"\r\n\r\n{}\r\n--${boundary}--\r\n`,
          `--${boundary}\r\nContent-Disposition: form-data; name="events"\r\n\r\n{"events":[{"type":"face_captured","eventId":"m1","time":1,"images":[{"part":"missing.jpg"}]}]}\r\n--${boundary}--\r\n`,
          `--${boundary}\r\nContent-Disposition: form-data; name="events"\r\n\r\n{"events":`,
        ]),
      );
      return { mutation: 'multipart:broken', contentType: `multipart/form-data; boundary=${boundary}`, body };
    }
  }
}

function gatCase(random: Random, t: Templates): Omit<Case, 'protocol' | 'method' | 'path'> {
  const contentType = 'application/VIID+JSON';
  const valid = json(t.gatFaces);
  switch (random.int(0, 5)) {
    case 0:
      return { ...unreadable(random, valid), contentType };
    case 1: {
      const body = random.pick([
        {},
        { FaceListObject: {} },
        { FaceListObject: 'x' },
        { FaceList: t.gatFaces['FaceListObject'] },
      ]);
      return { mutation: `envelope=${show(body)}`, contentType, body: json(body) };
    }
    case 2: {
      const field = random.pick(['FaceID', 'SourceID']);
      const value = random.pick([
        '1234',
        'A'.repeat(48),
        '0'.repeat(47),
        ...POISON.filter((p) => p !== null),
      ]);
      return {
        mutation: `field:${field}=${show(value)}`,
        contentType,
        body: json(setPath(t.gatFaces, ['FaceListObject', 'FaceObject', 0, field], value)),
      };
    }
    case 3: {
      let doc = t.gatFaces;
      const value = random.pick(['20251399999999', 'yesterday', '2025-11-28', 99_999_999_999_999]);
      for (const field of ['ShotTime', 'FaceAppearTime', 'FaceDisAppearTime'])
        doc = setPath(doc, ['FaceListObject', 'FaceObject', 0, field], value) as Record<string, unknown>;
      doc = setPath(doc, ['FaceListObject', 'FaceObject', 0, 'SubImageList'], REMOVE) as Record<
        string,
        unknown
      >;
      return { mutation: `times=${show(value)}`, contentType, body: json(doc) };
    }
    case 4: {
      const value = random.pick(['37030300001190000099', '1', 'not-a-device']);
      return {
        mutation: `DeviceID=${value}`,
        contentType,
        body: json(setPath(t.gatFaces, ['FaceListObject', 'FaceObject', 0, 'DeviceID'], value)),
      };
    }
    default: {
      const value = random.pick(NOT_BASE64);
      const doc = setPath(
        t.gatFaces,
        ['FaceListObject', 'FaceObject', 0, 'SubImageList', 'SubImageInfoObject', 0, 'Data'],
        value,
      );
      return { mutation: 'image:not-a-picture', contentType, body: json(doc) };
    }
  }
}

function isapiCase(random: Random, t: Templates): Omit<Case, 'protocol' | 'method' | 'path'> {
  const xml = Buffer.from(t.isapiXml);
  const doc = json(t.isapiJson);
  switch (random.int(0, 6)) {
    case 0: {
      const cut = random.int(8, xml.length - 20);
      return { mutation: `xml:truncated@${cut}`, contentType: 'application/xml', body: xml.subarray(0, cut) };
    }
    case 1:
      return { ...unreadable(random, doc), contentType: 'application/json' };
    case 2: {
      const body = random.pick([
        '<?xml version="1.0"?><NotAnAlert><x>1</x></NotAnAlert>',
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><EventNotificationAlert>&e;</EventNotificationAlert>',
        '<EventNotificationAlert><eventType>',
        '<<<>>>',
      ]);
      return { mutation: 'xml:wrong-document', contentType: 'application/xml', body: Buffer.from(body) };
    }
    case 3: {
      // The alert's time is what every mapped event needs.
      const value = random.pick(['yesterday', '2025-13-45T25:61:61+08:00', '', 'T']);
      const body = t.isapiXml.replace(/<dateTime>[^<]*<\/dateTime>/, `<dateTime>${value}</dateTime>`);
      return {
        mutation: `xml:dateTime=${show(value)}`,
        contentType: 'application/xml',
        body: Buffer.from(body),
      };
    }
    case 4: {
      const value = random.pick(['yesterday', '', 42, null]);
      return {
        mutation: `json:dateTime=${show(value)}`,
        contentType: 'application/json',
        body: json(setPath(t.isapiJson, ['dateTime'], value)),
      };
    }
    case 5: {
      const boundary = 'MIME_boundary_bad';
      const body = random.pick([
        `--${boundary}\r\nContent-Disposition: form-data; name="faceImage.jpg"; filename="faceImage.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--${boundary}--\r\n`,
        `--${boundary}\r\nContent-Disposition: form-data; name="AccessControllerEvent"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(t.isapiJson).slice(0, 40)}`,
        `no boundary at all`,
      ]);
      return {
        mutation: 'multipart:broken',
        contentType: `multipart/form-data; boundary=${boundary}`,
        body: Buffer.from(body, 'latin1'),
      };
    }
    default: {
      // ISAPI devices label documents loosely (the document is sniffed), but a multipart label on a
      // body with no parts is unreadable.
      const type = random.pick([
        'multipart/form-data; boundary=zzz',
        'multipart/form-data',
        'multipart/mixed; boundary="a b"',
      ]);
      return { mutation: `content-type=${type}`, contentType: type, body: xml };
    }
  }
}

function itsapiCase(random: Random, t: Templates): Omit<Case, 'protocol' | 'method' | 'path'> {
  const contentType = 'application/json';
  const valid = json(t.itsapi);
  switch (random.int(0, 3)) {
    case 0:
      return { ...unreadable(random, valid), contentType };
    case 1: {
      const path = random.pick([['Picture'], ['Picture', 'Plate'], ['Picture', 'SnapInfo']]);
      return {
        mutation: `removed:${path.join('.')}`,
        contentType,
        body: json(setPath(t.itsapi, path, REMOVE)),
      };
    }
    case 2: {
      const value = random.pick(BAD_TIMES);
      return {
        mutation: `AccurateTime=${show(value)}`,
        contentType,
        body: json(setPath(t.itsapi, ['Picture', 'SnapInfo', 'AccurateTime'], value)),
      };
    }
    default: {
      const value = random.pick(BAD_BASE64);
      return {
        mutation: `NormalPic=${show(value)}`,
        contentType,
        body: json(setPath(t.itsapi, ['Picture', 'NormalPic', 'Content'], value)),
      };
    }
  }
}

function gatewayCase(random: Random, t: Templates): Omit<Case, 'protocol'> {
  const writes = t.gateway.filter((g) => g.body !== undefined);
  const reads = t.gateway.filter((g) => g.body === undefined);
  const contentType = 'application/json';
  switch (random.int(0, 4)) {
    case 0: {
      const call = random.pick(writes);
      return { method: call.method, path: call.path, ...unreadable(random, json(call.body)), contentType };
    }
    case 1: {
      const call = random.pick(writes);
      const field = random.pick(Object.keys(call.body!));
      const value = random.pick([{ nested: { deeper: [1] } }, [], 12.5, true, 'x'.repeat(5000), -1]);
      return {
        method: call.method,
        path: call.path,
        mutation: `field:${field}=${show(value)}`,
        contentType,
        body: json(setPath(call.body, [field], value)),
      };
    }
    case 2: {
      const call = random.pick(writes);
      const name = random.pick(['unknownField', '__proto__', 'constructor', 'compound_id_x']);
      return {
        method: call.method,
        path: call.path,
        mutation: `unknown-field:${name}`,
        contentType,
        body: Buffer.from(`{${JSON.stringify(name)}:{"polluted":true},${JSON.stringify(call.body).slice(1)}`),
      };
    }
    case 3: {
      const call = random.pick(reads);
      const garbage = random.pick([
        'pageSize=-5',
        'pageSize=abc',
        'page.pageToken=%00%ff',
        'kinds=NOT_A_KIND',
        'from=yesterday',
        'pageSize=99999999999999999999',
      ]);
      return {
        method: 'GET',
        path: `${call.path}${call.path.includes('?') ? '&' : '?'}${garbage}`,
        mutation: `query:${garbage}`,
        contentType,
        body: Buffer.alloc(0),
      };
    }
    default: {
      const call = random.pick(writes);
      const type = random.pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x']);
      return {
        method: call.method,
        path: call.path,
        mutation: `content-type=${type}`,
        contentType: type,
        body: json(call.body),
      };
    }
  }
}

export const PATHS = {
  generic: '/api/v1/device/events',
  gat1400: '/VIID/Faces',
  isapi: '/ISAPI/Event/notification/alert',
  itsapi: '/NotificationInfo/TollgateInfo',
} as const;

/** `count` cases, spread evenly over the protocols in a fixed order, the same for the same seed. */
export function generateCases(templates: Templates, count: number, seed = 'bad-input'): Case[] {
  const random = seededRandom(seed);
  const order: Protocol[] = ['generic', 'gat1400', 'isapi', 'itsapi', 'gateway'];
  return Array.from({ length: count }, (_, i): Case => {
    const protocol = order[i % order.length]!;
    switch (protocol) {
      case 'generic':
        return { protocol, method: 'POST', path: PATHS.generic, ...genericCase(random, templates) };
      case 'gat1400':
        return { protocol, method: 'POST', path: PATHS.gat1400, ...gatCase(random, templates) };
      case 'isapi': {
        const c = isapiCase(random, templates);
        return {
          protocol,
          method: 'POST',
          path: PATHS.isapi,
          ...c,
          variant: /json|multipart/.test(c.contentType) ? 'json' : 'xml',
        };
      }
      case 'itsapi':
        return { protocol, method: 'POST', path: PATHS.itsapi, ...itsapiCase(random, templates) };
      default:
        return { protocol, ...gatewayCase(random, templates) };
    }
  });
}

/** The unmutated documents, one per device protocol: a run first shows they are accepted. */
export function validCases(t: Templates): Case[] {
  const post = { method: 'POST' as const };
  return [
    {
      ...post,
      protocol: 'generic',
      mutation: 'none',
      path: PATHS.generic,
      contentType: 'application/json',
      body: json(t.generic),
    },
    {
      ...post,
      protocol: 'gat1400',
      mutation: 'none',
      path: PATHS.gat1400,
      contentType: 'application/VIID+JSON',
      body: json(t.gatFaces),
    },
    {
      ...post,
      protocol: 'isapi',
      mutation: 'none',
      path: PATHS.isapi,
      contentType: 'application/xml',
      body: Buffer.from(t.isapiXml),
      variant: 'xml',
    },
    {
      ...post,
      protocol: 'isapi',
      mutation: 'none',
      path: PATHS.isapi,
      contentType: 'application/json',
      body: json(t.isapiJson),
      variant: 'json',
    },
    {
      ...post,
      protocol: 'itsapi',
      mutation: 'none',
      path: PATHS.itsapi,
      contentType: 'application/json',
      body: json(t.itsapi),
    },
  ];
}

/** The campaign's size: the CI profile, or ≥ 10,000 with `ANFANG_CAMPAIGN=full`. */
export function campaignSize(): { profile: 'ci' | 'full'; count: number } {
  return process.env.ANFANG_CAMPAIGN === 'full'
    ? { profile: 'full', count: 10_000 }
    : { profile: 'ci', count: 1_000 };
}
