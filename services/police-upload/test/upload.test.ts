import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isGat1400ObjectId,
  OBJECT_KIND,
  STATUS,
  validateFace,
  validateMotorVehicle,
  validatePerson,
} from '@anfang/gat1400';
import { anfang, topics } from '@anfang/contracts';
import { waitFor, watchTopics, type TopicWatch } from '@anfang/testing';
import { expectedFaceId, LOWER_ID, PLATFORM_ID, startHarness, type Harness } from './harness.ts';

const { UploadOutcome } = anfang.police.v1;

let h: Harness;
let receipts: TopicWatch;

beforeAll(async () => {
  h = await startHarness('police-upload-upload');
  receipts = await watchTopics(h.bus, {
    label: 'police-upload-receipts',
    topics: [topics.policeUploadBatchReceipt],
  });
});
afterAll(async () => {
  await receipts?.close();
  await h?.close();
});

/** The receipts naming any of `ids`, once every one of them is named. */
const receiptsOf = (ids: readonly string[]) =>
  waitFor(
    () => {
      const found = receipts
        .events(topics.policeUploadBatchReceipt)
        .filter((r) => r.objects.some((o) => ids.includes(o.objectId ?? '')));
      const named = new Set(found.flatMap((r) => r.objects.map((o) => o.objectId)));
      return ids.every((id) => named.has(id)) ? found : undefined;
    },
    { timeoutMs: 20_000, message: `receipts of ${ids.length} objects` },
  );

describe('uploads to the upper platform', () => {
  it('faces and vehicles arrive with valid ids, times and pictures', async () => {
    const before = h.peer.received('faces').length;
    await h.face();
    await h.passage();
    await h.peer.waitFor(
      () => h.peer.received('faces').length > before && h.peer.received('motorVehicles').length > 0,
      15_000,
      'a face and a vehicle',
    );
    const face = h.peer.received('faces').at(-1)!.object;
    expect(validateFace(face)).toEqual([]);
    expect(isGat1400ObjectId(face.FaceID, OBJECT_KIND.FACE)).toBe(true);
    const vehicle = h.peer.received('motorVehicles').at(-1)!.object;
    expect(validateMotorVehicle(vehicle)).toEqual([]);
    expect(vehicle).toMatchObject({ PlateNo: '鲁C5A7K2', PlateColor: '5', VehicleColor: '2', InOut: 'in' });
    const images = (vehicle.SubImageList as { SubImageInfoObject: { Type: string }[] }).SubImageInfoObject;
    expect(images.map((i) => i.Type)).toEqual(['01', '02']);
    expect(h.peer.rejections).toEqual([]);
  });

  it('a redelivered event is the same object, and is not sent again once accepted', async () => {
    const at = new Date();
    const eventId = await h.face({ at });
    const id = expectedFaceId(eventId, at);
    await h.peer.waitFor(() => h.peer.counts('faces').has(id), 15_000, 'the face');
    await h.face({ eventId, at });
    await h.face({ eventId, at });
    await waitFor(async () => (await h.sql.query('SELECT 1 FROM upload_outbox')).rowCount === 0, {
      timeoutMs: 15_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(h.peer.counts('faces').get(id)).toBe(1);
  });

  it('a partial batch failure retries only the failed objects; invalid content goes to the dead letters', async () => {
    const at = new Date();
    const [good, busy, invalid] = [randomUUID(), randomUUID(), randomUUID()];
    const id = (eventId: string) => expectedFaceId(eventId, at);
    h.peer.failObjects([id(busy)], STATUS.DEVICE_BUSY, 2);
    h.peer.failObjects([id(invalid)], STATUS.INVALID_JSON_CONTENT);
    for (const eventId of [good, busy, invalid]) await h.face({ eventId, at });
    await h.peer.waitFor(
      () => h.peer.counts('faces').has(id(busy)),
      15_000,
      'the busy object after its retries',
    );
    const dead = await waitFor(async () => {
      const r = await h.sql.query<{ object_id: string; status_code: string; reason: string }>(
        'SELECT object_id, status_code, reason FROM upload_dead_letter',
      );
      return r.rows[0];
    });
    expect(dead).toMatchObject({ object_id: id(invalid), status_code: '8' });
    expect(h.peer.counts('faces').get(id(good))).toBe(1);
    expect(h.peer.counts('faces').get(id(busy))).toBe(1);
    expect(h.peer.counts('faces').has(id(invalid))).toBe(false);

    // Each finished object is in a receipt once, with the platform's status; a retried one only
    // in the answer that finished it.
    const objects = (await receiptsOf([good, busy, invalid].map(id))).flatMap((r) => r.objects);
    const of = (eventId: string) => objects.filter((o) => o.objectId === id(eventId));
    expect(of(good)).toMatchObject([{ outcome: UploadOutcome.UPLOAD_OUTCOME_ACCEPTED, statusCode: '0' }]);
    expect(of(busy)).toMatchObject([{ outcome: UploadOutcome.UPLOAD_OUTCOME_ACCEPTED, attempts: 3 }]);
    expect(of(invalid)).toMatchObject([
      { outcome: UploadOutcome.UPLOAD_OUTCOME_REJECTED, statusCode: '8', sourceEventId: invalid },
    ]);
  });

  it('an answer is settled with its receipt or not at all', async () => {
    // The event outbox refuses receipts for a while: the platform accepts the object, but its
    // settle cannot write the receipt.
    const receiptTopic = topics.policeUploadBatchReceipt.name;
    await h.sql.query(
      `CREATE FUNCTION refuse_receipts() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'receipts refused'; END $$`,
    );
    await h.sql.query(
      `CREATE TRIGGER refuse_receipts BEFORE INSERT ON outbox FOR EACH ROW
       WHEN (NEW.topic = '${receiptTopic}') EXECUTE FUNCTION refuse_receipts()`,
    );
    const at = new Date();
    const id = expectedFaceId(await h.face({ at }), at);
    try {
      await h.peer.waitFor(() => h.peer.counts('faces').has(id), 15_000, 'the face');
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // its settle was tried and refused
      // Neither the outcome nor the receipt: the object is still owed, not remembered as sent.
      const row = await h.sql.query('SELECT 1 FROM upload_outbox WHERE object_id = $1', [id]);
      expect(row.rowCount).toBe(1);
      const sent = await h.sql.query('SELECT 1 FROM upload_sent WHERE object_id = $1', [id]);
      expect(sent.rowCount).toBe(0);
    } finally {
      await h.sql.query('DROP TRIGGER refuse_receipts ON outbox');
      await h.sql.query('DROP FUNCTION refuse_receipts()');
    }
    // An unrecorded answer counts an attempt and is due again after a back-off (unless another
    // sender claimed the row first): sent again, a duplicate the receiver recognises, until an
    // answer is settled — with one receipt.
    const found = await receiptsOf([id]);
    const sent = h.peer.counts('faces').get(id)!;
    const [receipted] = found.flatMap((r) => r.objects).filter((o) => o.objectId === id);
    expect(found.flatMap((r) => r.objects).filter((o) => o.objectId === id)).toHaveLength(1);
    expect(receipted).toMatchObject({ outcome: UploadOutcome.UPLOAD_OUTCOME_ACCEPTED });
    expect(receipted!.attempts).toBeGreaterThanOrEqual(2);
    expect(receipted!.attempts).toBeLessThanOrEqual(sent);
    expect((await h.sql.query('SELECT 1 FROM upload_outbox WHERE object_id = $1', [id])).rowCount).toBe(0);
  });

  it('an answered batch is one receipt for its compound, not one per object', async () => {
    await h.peer.mode('down');
    const at = new Date();
    const eventIds = await h.faces(Array.from({ length: 20 }, () => ({ at })));
    await waitFor(async () => (await h.sql.query('SELECT 1 FROM upload_outbox')).rowCount === 20);
    await h.peer.mode('up');
    const found = await receiptsOf(eventIds.map((eventId) => expectedFaceId(eventId, at)));
    // The senders claim the backlog in batches of up to 50, a few at once.
    expect(found.length).toBeLessThan(eventIds.length);
    for (const receipt of found) {
      expect(receipt.meta?.compoundId).toBe(h.compoundId);
      expect(receipt.platformId).toBe(PLATFORM_ID);
    }
  });
});

describe('persons', () => {
  it('a capture with a whole-person picture reaches a platform only once it is entitled to persons', async () => {
    const before = new Date();
    const unentitled = await h.face({ person: true, at: before });
    await h.peer.waitFor(
      () => h.peer.counts('faces').has(expectedFaceId(unentitled, before)),
      15_000,
      'the face',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.peer.received('persons')).toEqual([]);

    await h.client.updatePlatform(
      {
        platform: {
          platformId: PLATFORM_ID,
          name: 'conformance peer',
          baseUrl: h.peer.url,
          username: LOWER_ID,
          passwordRef: 'peer-password',
          compounds: [h.compoundId],
          objectKinds: ['faces', 'motorVehicles', 'persons'],
          keepaliveIntervalS: 1,
          keepaliveMisses: 2,
          enabled: true,
        },
      },
      { metadata: h.police },
    );
    await h.peer.waitFor(() => h.peer.isRegistered(LOWER_ID), 10_000, 'the link back');
    await h.face({ person: true });
    await h.peer.waitFor(() => h.peer.received('persons').length > 0, 15_000, 'the person');
    const person = h.peer.received('persons')[0]!.object;
    expect(validatePerson(person)).toEqual([]);
    const images = (person.SubImageList as { SubImageInfoObject: { ImageID: string; Type: string }[] })
      .SubImageInfoObject;
    expect(images.map((i) => i.Type)).toEqual(['10']);
    expect(person.SourceID).toBe(images[0]!.ImageID);
    expect(person).not.toHaveProperty('IDNumber');
    expect(h.peer.received('persons')).toHaveLength(1);
    expect(h.peer.rejections).toEqual([]);
  });
});

describe('session', () => {
  it('registers again after the peer restarts, and keeps alive', async () => {
    const keepalives = h.peer.stats().keepalives;
    await h.peer.waitFor(() => h.peer.stats().keepalives > keepalives, 5_000, 'a keepalive');
    await h.peer.restart();
    expect(h.peer.isRegistered(LOWER_ID)).toBe(false);
    await h.peer.waitFor(() => h.peer.isRegistered(LOWER_ID), 10_000, 're-registration');
    const session = await waitFor(async () => {
      const r = await h.sql.query<{ state: string; clock_offset_ms: number | null }>(
        'SELECT state, clock_offset_ms FROM platform_session',
      );
      return r.rows[0]?.state === 'registered' ? r : undefined;
    });
    expect(Math.abs(session.rows[0]?.clock_offset_ms ?? 99_999)).toBeLessThanOrEqual(1000);
  });
});
