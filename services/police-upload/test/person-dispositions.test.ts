/**
 * The full path of a person disposition by ID number, with the real identity service: the peer
 * sets it, police-upload stores the number encrypted and publishes the command, identity applies
 * it (its result is recorded), an ID card shown at a reader matches, and the hit reaches the peer
 * as a DispositionNotification within 2 s; a withdrawal stops the hits.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import { COMMAND_KIND, commandId, validateDispositionNotification } from '@anfang/gat1400';
import { dispositionBody } from '@anfang/gat1400-peer';
import identityService from '@anfang/identity';
import { createEventPublisher, type EventPublisher } from '@anfang/platform/bus';
import type { RunningService } from '@anfang/platform/service';
import { createTestDatabase, serviceTestEnv, uniqueName, waitFor, type TestDatabase } from '@anfang/testing';
import { PLATFORM_ID, startHarness, type Harness } from './harness.ts';

const { ImageKind } = anfang.common.v1;
const READER = '37030300001240000077';
/** A valid GB 11643 number (check character 9). */
const ID_NUMBER = '370303199001011239';

let h: Harness;
let identityDb: TestDatabase;
let identity: RunningService;
let devices: EventPublisher;

beforeAll(async () => {
  h = await startHarness('police-upload-person');
  identityDb = await createTestDatabase('police-upload-identity');
  identity = await identityService.start(
    serviceTestEnv({
      service: uniqueName('identity'),
      databaseUrl: identityDb.url,
      bucket: 'unused',
      extra: { BLIND_INDEX_KEY: randomBytes(32).toString('base64') },
    }),
    { ownsProcess: false },
  );
  devices = createEventPublisher({ bus: h.bus, producer: 'device-ingest' });
});
afterAll(async () => {
  await identity?.stop('test done');
  await identityDb?.drop();
  await h?.close();
});

/** Hits only: a late command result is a DispositionNotification too (with a status, no hit). */
const hits = () => h.peer.received('dispositionNotifications').filter((n) => n.object.CntObjectID);
const lower = () => `http://127.0.0.1:${h.service().ports.http}/VIID`;
const credentials = () => ({ username: PLATFORM_ID, password: h.password });

/** Shows the ID card at the reader with a capture picture; returns when it was published. */
async function showIdCard(): Promise<number> {
  const at = Date.now();
  await devices.publish(
    topics.deviceCredentialPresented,
    {
      device: { deviceId: `reader-${randomUUID()}`, gat1400Id: READER, addressCode: h.compoundId },
      idCard: { idNumber: ID_NUMBER, name: '某某' },
      images: [
        {
          objectKey: h.imageKeys.face,
          contentType: 'image/jpeg',
          kind: ImageKind.IMAGE_KIND_FACE,
          width: 16,
          height: 16,
          capturedAt: timestampFromDate(new Date(at)),
        },
      ],
    },
    { eventId: randomUUID(), occurredAt: new Date(at), compoundId: h.compoundId },
  );
  return at;
}

describe('person dispositions by ID number', () => {
  it('set by the peer, applied by identity, encrypted at rest; a hit reaches the peer within 2 s', async () => {
    const dispositionId = commandId(
      '370303000000',
      COMMAND_KIND.DISPOSITION,
      new Date(),
      Math.floor(Math.random() * 1e5),
    );
    const r = await h.peer.command(
      lower(),
      '/Dispositions',
      dispositionBody({
        DispositionID: dispositionId,
        Title: '在逃人员',
        TargetFeature: ID_NUMBER,
        PriorityLevel: 1,
        OperateType: 0,
        ReceiveAddr: `${h.peer.url}/VIID/DispositionNotifications`,
      }),
      credentials(),
    );
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).toContain('"StatusCode":0');

    // Never in clear in police-upload's database.
    const stored = await h.sql.query<{ target: string; target_feature: string }>(
      'SELECT target, target_feature FROM disposition WHERE disposition_id = $1',
      [dispositionId],
    );
    expect(stored.rows[0]?.target).toBe('id_number');
    expect(stored.rows[0]?.target_feature).toMatch(/^v1\./);
    const dump = await h.sql.query<{ t: string }>(
      `SELECT (SELECT string_agg(request::text, '') FROM police_command) || (SELECT string_agg(target_feature, '') FROM disposition) AS t`,
    );
    expect(dump.rows[0]?.t).not.toContain(ID_NUMBER);
    expect(dump.rows[0]?.t).toContain('370***********1239');

    // identity applied it: its result is recorded with the command.
    await waitFor(
      async () =>
        (
          await h.sql.query(
            `SELECT 1 FROM police_command WHERE disposition_id = $1 AND outcome = 'applied' AND watchlist_entry_id <> ''`,
            [dispositionId],
          )
        ).rowCount === 1,
      { timeoutMs: 20_000 },
    );

    const shown = await showIdCard();
    await h.peer.waitFor(
      () => hits().some((n) => n.object.DispositionID === dispositionId),
      10_000,
      'the person hit',
    );
    const hit = hits().find((n) => n.object.DispositionID === dispositionId)!;
    expect(hit.receivedAt - shown).toBeLessThanOrEqual(2_000);
    expect(validateDispositionNotification(hit.object)).toEqual([]);
    expect(hit.object).toMatchObject({ FaceObject: { DeviceID: READER } });
    expect(JSON.stringify(hit.object)).not.toContain(ID_NUMBER);

    const withdraw = await h.peer.command(
      lower(),
      `/Dispositions/${dispositionId}`,
      { DispositionObject: { DispositionID: dispositionId, OperateType: 1 } },
      credentials(),
      'PUT',
    );
    expect(withdraw.status).toBe(200);
    await waitFor(
      async () =>
        (
          await h.sql.query(
            `SELECT 1 FROM police_command WHERE disposition_id = $1 AND kind = 'disposition.withdraw' AND outcome = 'applied'`,
            [dispositionId],
          )
        ).rowCount === 1,
      { timeoutMs: 20_000 },
    );
    const before = hits().length;
    await showIdCard();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(hits()).toHaveLength(before);
  });
});
