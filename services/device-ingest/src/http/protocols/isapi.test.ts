import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import {
  accessEventMultipart,
  anprMultipart,
  faceCaptureMultipart,
  fixture,
  fixtureText,
  multipart,
  withUuid,
} from '../../../test/isapi-fixtures.ts';
import { digestAuthorization } from '@anfang/gat1400';
import { device, startHarness, type Harness } from './isapi-test-harness.ts';
import { isapiRouterFactory } from './isapi.ts';

const ALERT = '/ISAPI/Event/notification/alert';
const anpr = device();
const terminal = device({
  deviceId: 'dev-door-1',
  deviceType: anfang.common.v1.DeviceType.DEVICE_TYPE_UNIT_DOOR_TERMINAL,
  direction: anfang.common.v1.Direction.DIRECTION_BOTH,
  serialNumber: '24:0f:9b:31:aa:07',
  ipAddress: '10.21.5.17',
});
// A second terminal behind the same address (NAT): told apart by its MAC.
const terminal2 = device({ ...terminal, deviceId: 'dev-door-2', serialNumber: '24:0F:9B:31:AA:08' });
const faceCam = device({ deviceId: 'dev-face-1', ipAddress: '10.21.3.52', serialNumber: 'DS-2CD7A26' });
const fence = device({ deviceId: 'dev-fence-1', ipAddress: '10.21.3.60', serialNumber: 'DS-2CD2T47' });
const retired = device({ deviceId: 'dev-old', ipAddress: '10.21.9.9', active: false });

let h: Harness;
beforeAll(async () => {
  h = await startHarness([anpr, terminal, terminal2, faceCam, fence, retired]);
});
afterAll(async () => h.close());
beforeEach(() => {
  h.accepted.length = 0;
  h.heartbeats.length = 0;
  h.quarantined.length = 0;
  h.failAccept = false;
  h.secrets.clear();
});

const xml = { 'content-type': 'application/xml; charset="UTF-8"' };

describe('ISAPI router', () => {
  it('accepts an ANPR multipart push with its three pictures and answers 200 after accept', async () => {
    const { body, contentType } = anprMultipart();
    const res = await h.post(ALERT, body, { 'content-type': contentType });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<statusString>OK</statusString>');
    expect(h.accepted).toHaveLength(1);
    const [{ device: dev, events, context }] = h.accepted as [(typeof h.accepted)[number]];
    expect(dev.deviceId).toBe('dev-anpr-1');
    expect(context).toMatchObject({ protocol: 'isapi', deviceTime: new Date('2024-05-13T01:21:33.456Z') });
    expect(events[0]!.topic).toBe(topics.devicePlateRead);
    expect(events[0]!.payload['plateNumber']).toBe('鲁C12345');
    expect(events[0]!.images.map((i) => [i.sourceName, i.kind, i.bytes.length])).toEqual([
      [
        'licensePlatePicture.jpg',
        anfang.common.v1.ImageKind.IMAGE_KIND_PLATE,
        fixture('isapi/licensePlatePicture.jpg').length,
      ],
      [
        'vehiclePicture.jpg',
        anfang.common.v1.ImageKind.IMAGE_KIND_VEHICLE,
        fixture('isapi/vehiclePicture.jpg').length,
      ],
      [
        'detectionPicture.jpg',
        anfang.common.v1.ImageKind.IMAGE_KIND_SCENE,
        fixture('isapi/detectionPicture.jpg').length,
      ],
    ]);
  });

  it('accepts bare XML on the lower-case path too, and a retransmission keeps its source key', async () => {
    const alert = fixtureText('isapi/anpr.xml');
    expect((await h.post('/isapi/events', alert, xml)).status).toBe(200);
    const resent = alert.replace('<isDataRetransmission>false', '<isDataRetransmission>true');
    expect((await h.post(ALERT, resent, xml)).status).toBe(200);
    expect(h.accepted.map((a) => a.events[0]!.sourceKey)).toEqual([
      '6d3e1a70-1f0b-11ef-8000-bcbac25e7a11',
      '6d3e1a70-1f0b-11ef-8000-bcbac25e7a11',
    ]);
  });

  it('maps a face capture multipart, a perimeter alert and an access terminal JSON push', async () => {
    const face = faceCaptureMultipart();
    expect((await h.post(ALERT, face.body, { 'content-type': face.contentType }, '10.21.3.52')).status).toBe(
      200,
    );
    expect((await h.post(ALERT, fixture('isapi/fielddetection.xml'), xml, '10.21.3.60')).status).toBe(200);
    const access = accessEventMultipart();
    expect(
      (await h.post(ALERT, access.body, { 'content-type': access.contentType }, '10.21.5.17')).status,
    ).toBe(200);
    const card = fixture('isapi/access-card-invalid.json');
    expect((await h.post(ALERT, card, { 'content-type': 'application/json' }, '10.21.5.17')).status).toBe(
      200,
    );
    expect(h.accepted.map((a) => [a.device.deviceId, a.events[0]!.topic.name])).toEqual([
      ['dev-face-1', topics.deviceFaceCaptured.name],
      ['dev-fence-1', topics.devicePerimeterTriggered.name],
      ['dev-door-1', topics.deviceFaceCaptured.name],
      ['dev-door-1', topics.deviceCredentialPresented.name],
    ]);
    expect(h.accepted[2]!.events[0]!.images).toHaveLength(1);
  });

  it('tells devices behind one address apart by the MAC in the payload', async () => {
    const second = fixtureText('isapi/access-card-invalid.json').replace(
      '24:0f:9b:31:aa:07',
      '24:0f:9b:31:aa:08',
    );
    expect((await h.post(ALERT, second, { 'content-type': 'application/json' }, '10.21.5.17')).status).toBe(
      200,
    );
    expect(h.accepted[0]!.device.deviceId).toBe('dev-door-2');
  });

  it('turns an inactive videoloss into a heartbeat with the device time', async () => {
    const res = await h.post(ALERT, fixture('isapi/videoloss-heartbeat.xml'), xml);
    expect(res.status).toBe(200);
    expect(h.accepted).toHaveLength(0);
    expect(h.heartbeats).toHaveLength(1);
    expect(h.heartbeats[0]!.context).toMatchObject({
      protocol: 'isapi',
      deviceTime: new Date('2024-05-13T01:25:00Z'),
    });
  });

  it('answers 503 when the pipeline cannot store, so the device resends', async () => {
    h.failAccept = true;
    const res = await h.post(ALERT, fixture('isapi/anpr.xml'), xml);
    expect(res.status).toBe(503);
    expect(h.quarantined).toHaveLength(0);
  });

  it('refuses an unknown address, a decommissioned device and a payload claiming another device', async () => {
    const unknown = await h.post(ALERT, fixture('isapi/anpr.xml'), xml, '10.99.0.1');
    expect(unknown.status).toBe(403);
    expect(await unknown.text()).toContain('no registered device at 10.99.0.1');
    expect((await h.post(ALERT, fixture('isapi/anpr.xml'), xml, '10.21.9.9')).status).toBe(403);
    // The face camera's alert sent from the ANPR camera's address.
    const spoofed = await h.post(ALERT, fixture('isapi/face-capture.xml'), xml);
    expect(spoofed.status).toBe(403);
    expect(await spoofed.text()).toContain('payload ipAddress 10.21.3.52');
    // Terminals behind one address are told apart by MAC; an unregistered MAC is refused.
    const otherMac = fixtureText('isapi/access-card-invalid.json').replace(
      '24:0f:9b:31:aa:07',
      '24:0f:9b:31:aa:09',
    );
    expect((await h.post(ALERT, otherMac, { 'content-type': 'application/json' }, '10.21.5.17')).status).toBe(
      403,
    );
    expect(h.quarantined.map((q) => [q.status, q.protocol])).toEqual([
      [403, 'isapi'],
      [403, 'isapi'],
      [403, 'isapi'],
      [403, 'isapi'],
    ]);
    expect(h.quarantined[0]!.reason).toContain('unknown_device');
    expect(h.quarantined[2]!.deviceId).toBe('dev-anpr-1');
    expect(h.accepted).toHaveLength(0);
  });

  it('refuses malformed XML, JSON, multipart and missing fields with 400 and keeps them', async () => {
    const bad = [
      await h.post(ALERT, '<EventNotificationAlert><eventType>ANPR</EventNotificationAlert>', xml),
      await h.post(ALERT, '{"eventType": "AccessControllerEvent", ', { 'content-type': 'application/json' }),
      await h.post(ALERT, '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n<Eve', {
        'content-type': 'multipart/form-data; boundary=MIME_boundary',
      }),
      await h.post(
        ALERT,
        fixtureText('isapi/anpr.xml')
          .replace(/<licensePlate>.*<\/licensePlate>/, '')
          .replace(/<originalLicensePlate>.*<\/originalLicensePlate>/, ''),
        xml,
      ),
      await h.post(
        ALERT,
        multipart([
          { name: 'anpr.xml', contentType: 'application/xml', body: fixture('isapi/anpr.xml') },
          {
            name: 'vehiclePicture.jpg',
            filename: 'vehiclePicture.jpg',
            contentType: 'image/jpeg',
            body: Buffer.from('GIF89a'),
          },
        ]).body,
        { 'content-type': 'multipart/form-data; boundary=MIME_boundary' },
      ),
      await h.post(ALERT, '', xml),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400]);
    const reasons = h.quarantined.map((q) => q.reason);
    expect(reasons[0]).toMatch(/malformed XML/);
    expect(reasons[1]).toMatch(/malformed JSON/);
    expect(reasons[3]).toMatch(/ANPR.licensePlate is missing/);
    expect(reasons[4]).toMatch(/not a JPEG or PNG/);
    expect(h.quarantined).toHaveLength(6);
    expect(h.quarantined[0]!.deviceId).toBe('dev-anpr-1');
    expect(h.accepted).toHaveLength(0);
  });

  it('refuses an oversized body with 413 and keeps serving', async () => {
    const huge = Buffer.alloc(300 * 1024, 0x41);
    const res = await h.post(ALERT, huge, xml);
    expect(res.status).toBe(413);
    expect((await h.post(ALERT, fixture('isapi/anpr.xml'), xml)).status).toBe(200);
  });

  it('refuses too many multipart parts', async () => {
    const parts = Array.from({ length: 20 }, (_, i) => ({
      name: `p${i}.jpg`,
      filename: `p${i}.jpg`,
      contentType: 'image/jpeg',
      body: fixture('isapi/faceImage.jpg'),
    }));
    const { body, contentType } = multipart([
      { name: 'a.xml', contentType: 'application/xml', body: fixture('isapi/anpr.xml') },
      ...parts,
    ]);
    const res = await h.post(ALERT, body, { 'content-type': contentType });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('multipart parts');
  });

  it('requires Digest when the device has a secret, with a fresh nonce or the empty variant', async () => {
    h.secrets.set('dev-anpr-1', 's3cret-anpr');
    const first = await h.post(ALERT, fixture('isapi/anpr.xml'), xml);
    expect(first.status).toBe(401);
    const challenge = first.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Digest realm="anfang-device"/);
    expect(h.quarantined).toHaveLength(0);

    const auth = (secret: string, extra: { realm?: string; nonce?: string; qopStyle?: 'none' } = {}) =>
      digestAuthorization({ username: 'admin', secret, method: 'POST', uri: ALERT, challenge, ...extra });
    const ok = await h.post(ALERT, withUuid(fixtureText('isapi/anpr.xml'), 'u-digest-1'), {
      ...xml,
      authorization: auth('s3cret-anpr'),
    });
    expect(ok.status).toBe(200);
    const wrong = await h.post(ALERT, fixture('isapi/anpr.xml'), { ...xml, authorization: auth('guess') });
    expect(wrong.status).toBe(401);
    expect(h.quarantined).toHaveLength(1);
    const forged = await h.post(ALERT, fixture('isapi/anpr.xml'), {
      ...xml,
      authorization: auth('s3cret-anpr', { nonce: 'not-issued-by-us' }),
    });
    expect(forged.status).toBe(401);
    const empty = await h.post(ALERT, withUuid(fixtureText('isapi/anpr.xml'), 'u-digest-2'), {
      ...xml,
      authorization: auth('s3cret-anpr', { realm: '', nonce: '', qopStyle: 'none' }),
    });
    expect(empty.status).toBe(200);
    expect(h.accepted.map((a) => a.events[0]!.sourceKey)).toEqual(['u-digest-1', 'u-digest-2']);
  });

  it('answers 405 for other methods and leaves other paths to the listener', async () => {
    expect((await fetch(`${h.url}${ALERT}`)).status).toBe(405);
    expect((await h.post('/ISAPI/System/deviceInfo', '<x/>', xml)).status).toBe(404);
  });
});

describe('ISAPI router without Digest', () => {
  it('identifies by address and payload alone when Digest is off, even for a device with a secret', async () => {
    const off = await startHarness([anpr], {
      isapi: isapiRouterFactory({ digest: 'off', paths: ['/ISAPI/alarm'] }),
    });
    try {
      off.secrets.set('dev-anpr-1', 'unused');
      expect((await off.post('/ISAPI/alarm', fixture('isapi/anpr.xml'), xml)).status).toBe(200);
      expect((await off.post(ALERT, fixture('isapi/anpr.xml'), xml)).status).toBe(404);
      expect((await off.post('/ISAPI/alarm', fixture('isapi/anpr.xml'), xml, '10.99.0.1')).status).toBe(403);
    } finally {
      await off.close();
    }
  });
});
