import { describe, expect, it } from 'vitest';
import { anfang, timestampFromDate } from '@anfang/contracts';
import { validateFace, validateMotorVehicle, validatePerson } from '@anfang/gat1400';
import {
  faceFromAccess,
  faceFromCapture,
  isEntitled,
  motorVehicleFromPassage,
  motorVehicleFromPlateRead,
  personFromCapture,
  personFromHit,
} from './objects.ts';

const { ImageKind, SpoofCheckResult, PlateColor } = anfang.common.v1;
const ctx = { lowerId: '37030300005040000001' };
const at = new Date('2026-11-28T10:00:00Z');
const device = { deviceId: 'door-1', gat1400Id: '37030300001240000001' };
const image = {
  objectKey: 'k.jpg',
  contentType: 'image/jpeg',
  kind: ImageKind.IMAGE_KIND_FACE,
  width: 8,
  height: 8,
};
const meta = { occurredAt: timestampFromDate(at), compoundId: '370303001001001' };

describe('access records', () => {
  it('a record decided on a face capture is that capture (same FaceID); a card record with a picture is its own face', () => {
    const capture = faceFromCapture('capture-1', { meta, device, images: [image] }, ctx);
    const access = faceFromAccess(
      'access-1',
      { meta, device, images: [image], sourceEventId: 'capture-1' },
      ctx,
    );
    expect(capture.ok && access.ok).toBe(true);
    if (!capture.ok || !access.ok) return;
    expect(access.object.objectId).toBe(capture.object.objectId);
    expect(access.object.sourceEventId).toBe('access-1');
    const card = faceFromAccess('access-2', { meta, device, images: [image] }, ctx);
    expect(card.ok && card.object.objectId).not.toBe(capture.object.objectId);
    expect(card.ok && validateFace({ ...card.object.body, SubImageList: undefined })).toEqual([
      'SubImageList is missing',
    ]);
  });

  it('no picture, a spoof or no time: not a face, with the reason', () => {
    expect(faceFromAccess('a', { meta, device }, ctx)).toEqual({
      ok: false,
      reason: 'the capture has no image',
    });
    expect(
      faceFromAccess(
        'a',
        { meta, device, images: [image], liveness: SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_PHOTO },
        ctx,
      ),
    ).toMatchObject({ ok: false });
    expect(faceFromAccess('a', { device, images: [image] }, ctx)).toEqual({
      ok: false,
      reason: 'meta.occurred_at is missing',
    });
  });
});

describe('plate reads', () => {
  const read = {
    meta,
    device: { deviceId: 'road-1', gat1400Id: '37030300001210000001' },
    hasPlate: true,
    plateNumber: '鲁C12345',
    plateColor: PlateColor.PLATE_COLOR_BLUE,
    images: [{ ...image, kind: ImageKind.IMAGE_KIND_VEHICLE }],
  };
  it('a read is a motor vehicle; a passage recorded from it is the same object', () => {
    const built = motorVehicleFromPlateRead('read-1', read, ctx);
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.object.body).toMatchObject({ PlateNo: '鲁C12345', PlateColor: '5', HasPlate: '1' });
    expect(validateMotorVehicle({ ...built.object.body, SubImageList: { SubImageInfoObject: [] } })).toEqual([
      'SubImageList.SubImageInfoObject must be a non-empty array',
    ]);
    const passage = motorVehicleFromPassage('passage-1', { ...read, sourceEventId: 'read-1' }, ctx);
    expect(passage.ok && passage.object.objectId).toBe(built.object.objectId);
  });

  it('a vehicle without a readable plate has HasPlate 0 and no plate colour', () => {
    const built = motorVehicleFromPlateRead('read-2', { ...read, hasPlate: false }, ctx);
    expect(built.ok && built.object.body).toMatchObject({ HasPlate: '0' });
    expect(built.ok && 'PlateColor' in built.object.body).toBe(false);
  });
});

describe('isEntitled', () => {
  it('object kinds and wanted extensions, within the compounds', () => {
    const p = { objectKinds: ['faces'], extensions: ['doorDevices'], compounds: ['c1'] };
    expect(isEntitled(p, 'faces', 'c1')).toBe(true);
    expect(isEntitled(p, 'doorDevices', 'c1')).toBe(true);
    expect(isEntitled(p, 'apes', 'c1')).toBe(false);
    expect(isEntitled(p, 'faces', 'c2')).toBe(false);
  });
});

describe('persons from captures', () => {
  const body = { ...image, kind: ImageKind.IMAGE_KIND_PERSON, objectKey: 'body.jpg' };
  const scene = { ...image, kind: ImageKind.IMAGE_KIND_SCENE, objectKey: 'scene.jpg' };

  it('a capture with a whole-person picture is also a PersonObject; its pictures keep their ImageIDs', () => {
    const payload = { meta, device, images: [image, body, scene] };
    const face = faceFromCapture('capture-9', payload, ctx);
    const person = personFromCapture('capture-9', payload, ctx);
    if (!face.ok || !person.ok) throw new Error('not built');
    expect(person.object.kind).toBe('persons');
    expect(person.object.images.map((i) => i.objectKey)).toEqual(['body.jpg', 'scene.jpg']);
    const faceIds = face.object.images.map((i) => i.info.ImageID);
    expect(person.object.images.map((i) => i.info.ImageID)).toEqual(faceIds.slice(1));
    expect(person.object.body.SourceID).toBe(faceIds[1]);
    expect(String(person.object.objectId).slice(0, 41)).toBe(faceIds[1]);
    expect(validatePerson(person.object.body)).toEqual([]);
    expect(person.object.body).toMatchObject({
      DeviceID: device.gat1400Id,
      PersonAppearTime: '20261128180000',
      ShotTime: '20261128180000',
    });
    expect(personFromCapture('capture-9', payload, ctx)).toEqual(person);
    expect(JSON.stringify(person.object.body)).not.toContain('IDNumber');
  });

  it('no person picture or a spoof: no person, with the reason', () => {
    expect(personFromCapture('c', { meta, device, images: [image] }, ctx)).toEqual({
      ok: false,
      reason: 'the capture has no person picture',
    });
    expect(
      personFromCapture(
        'c',
        { meta, device, images: [body], liveness: SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_PHOTO },
        ctx,
      ),
    ).toMatchObject({ ok: false });
  });
});

describe('persons of watchlist hits', () => {
  it('a hit without a picture is a PersonObject of the one builder, ids derived from the capture', () => {
    const hit = personFromHit('hit-1', { meta, device, sourceEventId: 'capture-7' }, ctx);
    if (!hit.ok) throw new Error(hit.reason);
    expect(hit.object).toMatchObject({ kind: 'persons', sourceEventId: 'hit-1', images: [] });
    expect(validatePerson(hit.object.body)).toEqual([]);
    expect(hit.object.body).toMatchObject({
      PersonID: hit.object.objectId,
      DeviceID: device.gat1400Id,
      ShotTime: '20261128180000',
      PersonAppearTime: '20261128180000',
    });
    // The same capture seen again by another hit event: the same person for the receiver.
    const again = personFromHit('hit-2', { meta, device, sourceEventId: 'capture-7' }, ctx);
    expect(again.ok && again.object.objectId).toBe(hit.object.objectId);
    // With a picture it is the capture's FaceObject instead.
    expect(
      personFromHit('hit-3', { meta, device, images: [image], sourceEventId: 'capture-7' }, ctx),
    ).toMatchObject({
      ok: true,
      object: { kind: 'faces' },
    });
  });
});
