import { describe, expect, it } from 'vitest';
import type { UploadObject } from './objects.ts';
import { matches, parseSubscribe, subscribeNotification, type Subscription } from './subscriptions.ts';

const LOWER = '37030300005040000001';
const ID = '370303000000032026112818000000001';
const CAMERA = '37030300001190000101';

const face: UploadObject = {
  kind: 'faces',
  objectId: 'f'.repeat(48),
  sourceEventId: 'e',
  compoundId: 'c',
  deviceId: 'd',
  body: { FaceID: 'f', DeviceID: CAMERA },
  images: [{ objectKey: 'k', info: {} }],
  capturedAt: new Date('2026-11-28T10:00:00Z'),
};

describe('parseSubscribe', () => {
  it('reads codes with a trailing comma, our own id as every device, no images on -1', () => {
    const r = parseSubscribe(
      {
        SubscribeID: ID,
        SubscribeDetail: '12,13,',
        ResourceURI: LOWER,
        ReceiveAddr: 'http://x/VIID/SubscribeNotifications',
        ResultImageDeclare: '-1',
        ReportInterval: 5,
      },
      LOWER,
    );
    expect(r).toMatchObject({
      ok: true,
      subscription: {
        kinds: ['faces', 'motorVehicles'],
        resources: [],
        withImages: false,
        reportIntervalS: 5,
      },
    });
  });

  it('refuses what it cannot serve and reads cancellations', () => {
    expect(
      parseSubscribe({ SubscribeID: ID, SubscribeDetail: '14', ReceiveAddr: 'http://x' }, LOWER),
    ).toMatchObject({ ok: false, code: 4 });
    expect(
      parseSubscribe({ SubscribeID: ID, SubscribeDetail: '3,', ReceiveAddr: 'http://x' }, LOWER),
    ).toMatchObject({ ok: true, subscription: { kinds: ['apes'] } });
    expect(
      parseSubscribe({ SubscribeID: ID, SubscribeDetail: '11,12', ReceiveAddr: 'http://x' }, LOWER),
    ).toMatchObject({ ok: true, subscription: { kinds: ['persons', 'faces'] } });
    expect(
      parseSubscribe(
        { SubscribeID: ID, SubscribeDetail: '12', ResourceURI: 'abc', ReceiveAddr: 'http://x' },
        LOWER,
      ),
    ).toMatchObject({ ok: false });
    expect(parseSubscribe({ OperateType: '1' }, LOWER, ID)).toEqual({
      ok: true,
      operation: 'cancel',
      subscribeId: ID,
    });
  });
});

describe('matching and notifications', () => {
  const s: Subscription = {
    subscribeId: ID,
    platformId: 'p',
    title: 't',
    kinds: ['faces'],
    resources: [CAMERA],
    receiveAddr: 'http://x/n',
    reportIntervalS: 10,
    withImages: true,
  };
  it('matches kind, device and validity', () => {
    const now = new Date();
    expect(matches(s, face, now)).toBe(true);
    expect(matches({ ...s, resources: ['37030300001190000999'] }, face, now)).toBe(false);
    expect(matches({ ...s, kinds: ['motorVehicles'] }, face, now)).toBe(false);
    expect(matches({ ...s, endsAt: new Date(now.getTime() - 1) }, face, now)).toBe(false);
  });
  it('wraps the object, puts its pictures inside it, waits for the report slot', () => {
    const now = new Date('2026-11-28T10:00:03Z');
    const n = subscribeNotification(s, face, { lowerId: LOWER }, now);
    expect(n.body).toMatchObject({
      SubscribeID: ID,
      FaceObjectList: { FaceObject: [face.body] },
      InfoIDs: face.objectId,
    });
    expect(n.images[0]!.into).toBe('FaceObjectList.FaceObject.0');
    expect(n.notBefore?.toISOString()).toBe('2026-11-28T10:00:10.000Z');
    expect(n.objectId).toBe(subscribeNotification(s, face, { lowerId: LOWER }, now).objectId);
  });
});
