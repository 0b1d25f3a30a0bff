import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { fixture, tollgateJson } from '../../../test/isapi-fixtures.ts';
import { digestAuthorization } from '@anfang/gat1400';
import { device, startHarness, type Harness } from './isapi-test-harness.ts';

const TOLLGATE = '/NotificationInfo/TollgateInfo';
const KEEPALIVE = '/NotificationInfo/KeepAlive';
const camera = device({
  deviceId: 'dev-dahua-1',
  vendor: 'dahua',
  model: 'DHI-ITC237-PW6M',
  ipAddress: '10.21.4.8',
  protocol: anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_UNSPECIFIED,
});
const json = { 'content-type': 'application/json' };
const FROM = '10.21.4.8';

let h: Harness;
beforeAll(async () => {
  h = await startHarness([camera]);
});
afterAll(async () => h.close());
beforeEach(() => {
  h.accepted.length = 0;
  h.heartbeats.length = 0;
  h.quarantined.length = 0;
  h.failAccept = false;
  h.secrets.clear();
});

describe('ITSAPI router', () => {
  it('answers KeepAlive with {"Result": true} after the heartbeat', async () => {
    const res = await h.post(KEEPALIVE, '{}', json, FROM);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ Result: true });
    expect(h.heartbeats.map((b) => [b.device.deviceId, b.context.protocol])).toEqual([
      ['dev-dahua-1', 'itsapi'],
    ]);
    // Some firmware sends the keepalive without a body.
    expect((await h.post('/notificationinfo/keepalive', '', {}, FROM)).status).toBe(200);
  });

  it('accepts a TollgateInfo with its NormalPic and answers {"Result": true} once accepted', async () => {
    const res = await h.post(TOLLGATE, JSON.stringify(tollgateJson()), json, FROM);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ Result: true });
    const [{ events, context }] = h.accepted as [(typeof h.accepted)[number]];
    expect(context).toMatchObject({ protocol: 'itsapi', deviceTime: new Date('2024-05-13T01:21:33.456Z') });
    expect(events[0]!.topic).toBe(topics.devicePlateRead);
    expect(events[0]!.payload['plateNumber']).toBe('鲁C12345');
    expect(events[0]!.images[0]!.bytes.equals(fixture('isapi/vehiclePicture.jpg'))).toBe(true);
  });

  it('answers {"Result": false} with 503 when not stored, and the resend has the same source key', async () => {
    h.failAccept = true;
    const failed = await h.post(TOLLGATE, JSON.stringify(tollgateJson()), json, FROM);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ Result: false });
    h.failAccept = false;
    expect((await h.post(TOLLGATE, JSON.stringify(tollgateJson()), json, FROM)).status).toBe(200);
    expect((await h.post(TOLLGATE, JSON.stringify(tollgateJson()), json, FROM)).status).toBe(200);
    const keys = h.accepted.map((a) => a.events[0]!.sourceKey);
    expect(new Set(keys).size).toBe(1);
  });

  it('refuses unknown cameras and malformed bodies with {"Result": false} and quarantines them', async () => {
    const unknown = await h.post(TOLLGATE, JSON.stringify(tollgateJson()), json, '10.99.0.2');
    expect(unknown.status).toBe(403);
    expect(await unknown.json()).toMatchObject({ Result: false });
    const malformed = await h.post(TOLLGATE, '{"Picture": {"Plate": ', json, FROM);
    expect(malformed.status).toBe(400);
    expect((await malformed.json()) as { Reason: string }).toMatchObject({
      Result: false,
      Reason: expect.stringMatching(/malformed JSON/),
    });
    const body = tollgateJson() as { Picture: Record<string, unknown> };
    delete body.Picture['SnapInfo'];
    expect((await h.post(TOLLGATE, JSON.stringify(body), json, FROM)).status).toBe(400);
    expect(h.quarantined.map((q) => [q.protocol, q.status, q.deviceId])).toEqual([
      ['itsapi', 403, undefined],
      ['itsapi', 400, 'dev-dahua-1'],
      ['itsapi', 400, 'dev-dahua-1'],
    ]);
    expect(h.quarantined[2]!.reason).toContain('SnapInfo is missing');
    expect(h.accepted).toHaveLength(0);
  });

  it('accepts Dahua Digest with an empty realm, nonce and qop', async () => {
    h.secrets.set('dev-dahua-1', 'dahua-secret');
    const first = await h.post(TOLLGATE, JSON.stringify(tollgateJson()), json, FROM);
    expect(first.status).toBe(401);
    expect(first.headers.get('www-authenticate')).toMatch(/^Digest /);
    const authorization = digestAuthorization({
      username: 'admin',
      secret: 'dahua-secret',
      method: 'POST',
      uri: TOLLGATE,
      challenge: 'Digest realm="", nonce=""',
      realm: '',
      nonce: '',
      qopStyle: 'none',
    });
    const ok = await h.post(TOLLGATE, JSON.stringify(tollgateJson()), { ...json, authorization }, FROM);
    expect(ok.status).toBe(200);
    const wrong = digestAuthorization({
      username: 'admin',
      secret: 'nope',
      method: 'POST',
      uri: TOLLGATE,
      challenge: 'Digest realm="", nonce=""',
      qopStyle: 'none',
    });
    expect((await h.post(KEEPALIVE, '{}', { ...json, authorization: wrong }, FROM)).status).toBe(401);
  });
});
