/**
 * The device event consumer against real Kafka and Postgres: presented credentials and face
 * captures become access records with their capture images (once per event id), a failed
 * liveness is a spoof with an access alarm, five refusals in a row at a reader raise an alarm,
 * and an ID number or face on a police watchlist produces a watchlist hit.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { waitFor } from '@anfang/testing';
import {
  present,
  seedResident,
  seedSite,
  startIdentity,
  testIdNumber,
  type Harness,
  type Site,
} from './harness.ts';

const { DeviceType, SpoofCheckResult, CredentialType, ImageKind } = anfang.common.v1;
const { AccessDecision, AccessReason, AccessAlarmKind, DecisionPath, PersonMatchKind } = anfang.identity.v1;

const devices = new Set<string>();
let h: Harness;
let site: Site;

beforeAll(async () => {
  h = await startIdentity('identity_events', devices);
  site = await seedSite(h, devices);
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

const device = (deviceId: string) => ({
  deviceId,
  deviceType: DeviceType.DEVICE_TYPE_UNIT_DOOR_TERMINAL,
  name: '单元门',
});
const image = (key: string) => ({
  objectKey: key,
  contentType: 'image/jpeg',
  kind: ImageKind.IMAGE_KIND_FACE,
});
const waitLong = { timeoutMs: 30_000 };

function presentCard(deviceId: string, cardNumber: string, eventId: string = randomUUID()) {
  return h.devices.publish(
    topics.deviceCredentialPresented,
    {
      device: device(deviceId),
      sourceObjectId: eventId,
      card: { cardNumber },
      images: [image(`device-ingest/captures/${eventId}.jpg`)],
    },
    { eventId },
  );
}

describe('credential-presented', () => {
  it('records the decision with the capture image, once per event id', async () => {
    const { person } = await seedResident(h, site, 20, 'AA000020');
    const eventId = randomUUID();
    await presentCard(site.unitDevice, 'AA000020', eventId);
    const record = await waitFor(() => h.events.records.find((r) => r.sourceEventId === eventId), waitLong);
    expect(record).toMatchObject({
      doorId: site.unitDoor,
      personId: person.personId,
      decision: AccessDecision.ACCESS_DECISION_ALLOWED,
      reason: AccessReason.ACCESS_REASON_GRANTED,
      path: DecisionPath.DECISION_PATH_EVENT,
      credentialType: CredentialType.CREDENTIAL_TYPE_CARD,
      credentialMasked: '卡 ****0020',
    });
    expect(record.images.map((i) => i.objectKey)).toEqual([`device-ingest/captures/${eventId}.jpg`]);
    expect(record.meta?.causationId).toBe(eventId);

    // The same event again (a redelivery), then a marker event: the marker proves the consumer
    // got past the duplicate, and the duplicate left no second record.
    await presentCard(site.unitDevice, 'AA000020', eventId);
    const marker = randomUUID();
    await presentCard(site.unitDevice, 'AA000020', marker);
    await waitFor(() => h.events.records.find((r) => r.sourceEventId === marker), waitLong);
    expect(h.events.records.filter((r) => r.sourceEventId === eventId)).toHaveLength(1);
  });

  it('raises an alarm at the fifth refusal in a row at one reader', async () => {
    const ids: string[] = Array.from({ length: 5 }, () => randomUUID());
    for (const id of ids) await presentCard(site.otherUnitDevice, 'DEAD0000', id);
    const alarm = await waitFor(
      () =>
        h.events.alarms.find(
          (a) =>
            a.device?.deviceId === site.otherUnitDevice &&
            a.kind === AccessAlarmKind.ACCESS_ALARM_KIND_REPEATED_FAILURES,
        ),
      waitLong,
    );
    expect(alarm.failureCount).toBe(5);
    expect(alarm.doorId).toBe(site.otherUnitDoor);
    const recordIds = h.events.records.filter((r) => ids.includes(r.sourceEventId)).map((r) => r.recordId);
    expect(new Set(alarm.recordIds)).toEqual(new Set(recordIds));
  });
});

describe('face-captured', () => {
  it('turns a failed liveness into a spoof record and a spoof alarm, never a pass', async () => {
    const { person } = await seedResident(h, site, 21, 'AA000021');
    await h.client.issueCredential(
      {
        personId: person.personId,
        type: CredentialType.CREDENTIAL_TYPE_FACE,
        value: 'face-0021',
        faceImageKey: 'enrol/21.jpg',
      },
      await h.as('property_staff'),
    );
    const eventId = randomUUID();
    await h.devices.publish(
      topics.deviceFaceCaptured,
      {
        device: device(site.unitDevice),
        sourceObjectId: eventId,
        liveness: SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_PHOTO,
        devicePersonRef: 'face-0021',
        deviceMatchScore: 0.97,
        images: [image(`device-ingest/faces/${eventId}.jpg`)],
      },
      { eventId },
    );
    const record = await waitFor(() => h.events.records.find((r) => r.sourceEventId === eventId), waitLong);
    expect(record).toMatchObject({
      decision: AccessDecision.ACCESS_DECISION_DENIED,
      reason: AccessReason.ACCESS_REASON_SPOOF,
      personId: person.personId,
      liveness: SpoofCheckResult.SPOOF_CHECK_RESULT_SPOOF_PHOTO,
    });
    const alarm = await waitFor(
      () =>
        h.events.alarms.find(
          (a) =>
            a.kind === AccessAlarmKind.ACCESS_ALARM_KIND_SPOOF_ATTEMPT &&
            a.recordIds.includes(record.recordId),
        ),
      waitLong,
    );
    expect(alarm.images.map((i) => i.objectKey)).toEqual([`device-ingest/faces/${eventId}.jpg`]);
  });
});

describe('person watchlists', () => {
  it('report an ID card and a face matching an active entry, and stop once the entry is removed', async () => {
    const police = await h.as('police', { compounds: 'all' });
    const idNumber = testIdNumber(300);
    const entry = present(
      (
        await h.client.addWatchlistEntry(
          {
            entry: {
              watchlistId: '重点人员',
              idNumber,
              dispositionId: '3703030000000000000000000000000001'.slice(0, 33),
            },
          },
          police,
        )
      ).entry,
      'entry',
    );
    const faceEntry = present(
      (
        await h.client.addWatchlistEntry(
          { entry: { watchlistId: '布控', faceTemplateId: 'wanted-0300', faceThreshold: 0.9 } },
          police,
        )
      ).entry,
      'entry',
    );
    expect(entry.idNumber).not.toBe(idNumber);

    const idEvent = randomUUID();
    await h.devices.publish(
      topics.deviceCredentialPresented,
      {
        device: device(site.gateDevice),
        idCard: { idNumber, name: '某某' },
        images: [image('device-ingest/id.jpg')],
      },
      { eventId: idEvent },
    );
    const hit = await waitFor(() => h.events.hits.find((x) => x.sourceEventId === idEvent), waitLong);
    expect(hit).toMatchObject({
      entryId: entry.entryId,
      matchKind: PersonMatchKind.PERSON_MATCH_KIND_ID_NUMBER,
      watchlistId: '重点人员',
    });

    const weakFace = randomUUID();
    const strongFace = randomUUID();
    for (const [eventId, score] of [
      [weakFace, 0.5],
      [strongFace, 0.95],
    ] as const)
      await h.devices.publish(
        topics.deviceFaceCaptured,
        {
          device: device(site.gateDevice),
          liveness: SpoofCheckResult.SPOOF_CHECK_RESULT_GENUINE,
          devicePersonRef: 'wanted-0300',
          deviceMatchScore: score,
        },
        { eventId },
      );
    const faceHit = await waitFor(() => h.events.hits.find((x) => x.sourceEventId === strongFace), waitLong);
    expect(faceHit).toMatchObject({
      entryId: faceEntry.entryId,
      matchKind: PersonMatchKind.PERSON_MATCH_KIND_FACE,
    });
    expect(faceHit.similarity).toBeCloseTo(0.95);
    // The weak match was decided (its record exists) but hit nothing.
    await waitFor(() => h.events.records.find((r) => r.sourceEventId === weakFace), waitLong);
    expect(h.events.hits.find((x) => x.sourceEventId === weakFace)).toBeUndefined();

    await h.client.removeWatchlistEntry({ entryId: entry.entryId }, police);
    const afterRemoval = randomUUID();
    await h.devices.publish(
      topics.deviceCredentialPresented,
      { device: device(site.gateDevice), idCard: { idNumber, name: '某某' } },
      { eventId: afterRemoval },
    );
    await waitFor(() => h.events.records.find((r) => r.sourceEventId === afterRemoval), waitLong);
    expect(h.events.hits.find((x) => x.sourceEventId === afterRemoval)).toBeUndefined();
  });
});

describe('police dispositions', () => {
  it('become watchlist entries that hit, answer with a result, and stop hitting once withdrawn', async () => {
    const dispositionId =
      `37030300000000${String(Date.now()).slice(-13)}${randomUUID().replace(/\D/g, '').slice(0, 6)}`.slice(
        0,
        33,
      );
    h.events.dispositions.add(dispositionId);
    const idNumber = testIdNumber(500);
    await h.devices.publish(
      topics.policeCommand,
      {
        commandId: randomUUID(),
        platformId: '37030000005030000001',
        dispositionSet: {
          dispositionId,
          title: '在逃人员',
          target: anfang.police.v1.DispositionTarget.DISPOSITION_TARGET_PERSON_ID_NUMBER,
          targetFeature: idNumber,
          priority: anfang.common.v1.Priority.PRIORITY_CRITICAL,
        },
      },
      { eventId: randomUUID() },
    );
    const applied = await waitFor(
      () => h.events.commandResults.find((r) => r.dispositionId === dispositionId),
      waitLong,
    );
    expect(applied.outcome).toBe(anfang.police.v1.CommandOutcome.COMMAND_OUTCOME_APPLIED);
    expect(applied.watchlistEntryId).toBeTruthy();

    const presented = randomUUID();
    await h.devices.publish(
      topics.deviceCredentialPresented,
      { device: device(site.gateDevice), idCard: { idNumber, name: '某某' } },
      { eventId: presented },
    );
    const hit = await waitFor(() => h.events.hits.find((x) => x.sourceEventId === presented), waitLong);
    expect(hit).toMatchObject({
      dispositionId,
      entryId: applied.watchlistEntryId,
      priority: anfang.common.v1.Priority.PRIORITY_CRITICAL,
    });

    await h.devices.publish(
      topics.policeCommand,
      {
        commandId: randomUUID(),
        platformId: '37030000005030000001',
        dispositionWithdrawn: { dispositionId, reason: '已抓获' },
      },
      { eventId: randomUUID() },
    );
    await waitFor(
      () => h.events.commandResults.filter((r) => r.dispositionId === dispositionId).length === 2,
      waitLong,
    );
    const after = randomUUID();
    await h.devices.publish(
      topics.deviceCredentialPresented,
      { device: device(site.gateDevice), idCard: { idNumber, name: '某某' } },
      { eventId: after },
    );
    await waitFor(() => h.events.records.find((r) => r.sourceEventId === after), waitLong);
    expect(h.events.hits.find((x) => x.sourceEventId === after)).toBeUndefined();
  });
});

describe('capture cameras and device-limited dispositions', () => {
  it('match a camera’s face against the watchlists, only on the devices a disposition lists', async () => {
    const listedCamera = randomUUID();
    const otherCamera = randomUUID();
    devices.add(listedCamera);
    devices.add(otherCamera);
    const dispositionId = `37030300000000${randomUUID().replace(/\D/g, '')}`.slice(0, 33);
    h.events.dispositions.add(dispositionId);
    const template = `tpl-${randomUUID()}`;
    await h.devices.publish(
      topics.policeCommand,
      {
        commandId: randomUUID(),
        platformId: '37030000005030000001',
        dispositionSet: {
          dispositionId,
          title: '重点人员',
          target: anfang.police.v1.DispositionTarget.DISPOSITION_TARGET_FACE,
          targetFeature: template,
          priority: anfang.common.v1.Priority.PRIORITY_HIGH,
          deviceIds: [listedCamera],
        },
      },
      { eventId: randomUUID() },
    );
    const applied = await waitFor(
      () => h.events.commandResults.find((r) => r.dispositionId === dispositionId),
      waitLong,
    );
    expect(applied).toMatchObject({
      outcome: anfang.police.v1.CommandOutcome.COMMAND_OUTCOME_APPLIED,
      detail: 'watchlist entry added, limited to 1 device(s)',
    });

    const camera = (deviceId: string) => ({
      deviceId,
      deviceType: DeviceType.DEVICE_TYPE_FACE_CAPTURE_CAMERA,
      name: '人脸抓拍',
    });
    const sighting = async (deviceId: string, score: number) => {
      const eventId = randomUUID();
      await h.devices.publish(
        topics.deviceFaceCaptured,
        {
          device: camera(deviceId),
          devicePersonRef: template,
          deviceMatchScore: score,
          images: [image(`faces/${eventId}.jpg`)],
        },
        { eventId },
      );
      return eventId;
    };
    const elsewhere = await sighting(otherCamera, 0.97);
    const weak = await sighting(listedCamera, 0.2);
    const seen = await sighting(listedCamera, 0.97);
    const hit = await waitFor(() => h.events.hits.find((x) => x.sourceEventId === seen), waitLong);
    expect(hit).toMatchObject({
      dispositionId,
      entryId: applied.watchlistEntryId,
      matchKind: PersonMatchKind.PERSON_MATCH_KIND_FACE,
      device: expect.objectContaining({ deviceId: listedCamera }),
    });
    expect(hit.similarity).toBeCloseTo(0.97);
    expect(hit.images.map((i) => i.objectKey)).toEqual([`faces/${seen}.jpg`]);
    // Both other sightings were decided (marked processed) and made no hit.
    const db = new pg.Client({ connectionString: h.db.url });
    await db.connect();
    try {
      await waitFor(async () => {
        const { rowCount } = await db.query('SELECT 1 FROM processed_events WHERE event_id = ANY($1)', [
          [elsewhere, weak],
        ]);
        return rowCount === 2;
      }, waitLong);
    } finally {
      await db.end();
    }
    expect(h.events.hits.find((x) => x.sourceEventId === elsewhere)).toBeUndefined();
    expect(h.events.hits.find((x) => x.sourceEventId === weak)).toBeUndefined();
    // A capture camera never makes an access record.
    expect(h.events.records.find((r) => r.sourceEventId === seen)).toBeUndefined();
  });
});
