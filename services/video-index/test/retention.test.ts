/**
 * Retention with an injected clock against the real S3 store and Postgres: expired images go
 * (objects, rows, logged), held ones stay until released, and a retention below 30 days is
 * refused by the configuration and by the API.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { FailedPreconditionError, InvalidArgumentError, PermissionDeniedError } from '@anfang/platform/grpc';
import { createTestDatabase, serviceTestEnv, waitFor } from '@anfang/testing';
import videoIndexService from '../src/service.ts';
import { days, startHarness, type Harness } from './harness.ts';

const { ImageClass } = anfang.video.v1;
const { ImageHoldKind } = anfang.alarm.v1;

let h: Harness;
beforeAll(async () => {
  h = await startHarness('video-retention');
});
afterAll(async () => {
  await h?.close();
});

const sweep = (now: Date) => h.retention.sweep(now, { batch: 2, pauseMs: 0 });
const exists = async (key: string) => (await h.images.stat(key.slice('device-ingest/'.length))) !== null;

describe('retention sweep', () => {
  it('deletes expired objects and rows in batches, logs each, skips held ones, honours releases', async () => {
    const taken = new Date(Date.now() - days(1));
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) keys.push(await h.putImage({ deviceId: 'cam-sweep', at: taken }));
    await h.faceCaptured({ deviceId: 'cam-sweep', at: taken, keys });
    await waitFor(async () => (await Promise.all(keys.map((k) => h.rows(k)))).every(Boolean), {
      timeoutMs: 30_000,
    });
    const [alarmHeld, policeHeld, ...free] = keys as [string, string, ...string[]];
    // The size enricher updates unsized rows every 200 ms here; the sweep skips rows another
    // transaction holds (SKIP LOCKED) and would leave one for its next run. Let it finish first.
    await waitFor(async () => {
      const { rows } = await h.sql.query(
        'SELECT 1 FROM media_index WHERE object_key = ANY($1) AND size_bytes IS NULL',
        [keys],
      );
      return rows.length === 0;
    });

    // perimeter-alarms holds one image for an open alarm; the police hold another for a case.
    const alarmId = randomUUID();
    await h.perimeterAlarms.publish(
      topics.alarmImageHold,
      { alarmId, kind: ImageHoldKind.IMAGE_HOLD_KIND_HOLD, objectKeys: [alarmHeld] },
      { compoundId: h.compoundId },
    );
    await expect(
      h.client.placeHold(
        { compoundId: h.compoundId, caseId: 'C-1', reason: 'evidence', objectKeys: [policeHeld] },
        { metadata: h.manager },
      ),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(
      h.client.placeHold(
        {
          compoundId: h.compoundId,
          caseId: 'C-1',
          reason: 'evidence',
          objectKeys: ['device-ingest/captures/nope.jpg'],
        },
        { metadata: h.police },
      ),
    ).rejects.toBeInstanceOf(FailedPreconditionError);
    const { hold } = await h.client.placeHold(
      { compoundId: h.compoundId, caseId: 'C-1', reason: 'evidence', objectKeys: [policeHeld] },
      { metadata: h.police },
    );
    await waitFor(async () => {
      const { rows } = await h.sql.query('SELECT 1 FROM holds WHERE alarm_id = $1', [alarmId]);
      return rows.length === 1;
    });

    // 29 days later nothing is due.
    expect((await sweep(new Date(taken.getTime() + days(29)))).deleted).toBe(0);
    // 31 days later every free image goes, in batches of 2; the held ones stay.
    const later = new Date(taken.getTime() + days(31));
    const result = await sweep(later);
    expect(result.deleted).toBeGreaterThanOrEqual(free.length);
    expect(result.batches).toBeGreaterThanOrEqual(2);
    for (const key of free) {
      expect(await exists(key)).toBe(false);
      expect(await h.rows(key)).toBe(0);
    }
    for (const key of [alarmHeld, policeHeld]) {
      expect(await exists(key)).toBe(true);
      expect(await h.rows(key)).toBe(1);
    }
    const { rows: logged } = await h.sql.query(
      "SELECT object_key FROM deletions WHERE reason = 'retention' AND object_key = ANY($1)",
      [free],
    );
    expect(logged.map((r) => r.object_key).sort()).toEqual([...free].sort());

    // Released: the alarm resolved, the case closed. The next sweep takes them.
    await h.perimeterAlarms.publish(
      topics.alarmImageHold,
      { alarmId, kind: ImageHoldKind.IMAGE_HOLD_KIND_RELEASE, objectKeys: [alarmHeld] },
      { compoundId: h.compoundId },
    );
    await h.client.releaseHold({ holdId: hold!.holdId, reason: 'case closed' }, { metadata: h.police });
    await waitFor(async () => {
      const { rows } = await h.sql.query('SELECT released_at FROM holds WHERE alarm_id = $1', [alarmId]);
      return rows[0]?.released_at;
    });
    await sweep(later);
    expect(await exists(alarmHeld)).toBe(false);
    expect(await exists(policeHeld)).toBe(false);

    // The emptied day partition is dropped once it is past every retention.
    const { rows: partitions } = await h.sql.query(
      "SELECT relname FROM pg_class WHERE relname = 'media_index_' || to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYYMMDD')",
      [taken],
    );
    const { rows: left } = await h.sql.query(
      'SELECT count(*)::int AS n FROM media_index WHERE captured_at < $1',
      [new Date(taken.getTime() + days(1))],
    );
    if (left[0].n === 0) expect(partitions).toHaveLength(0);
  });
});

describe('retention below the legal minimum', () => {
  it('is refused by the API, and only the district may set it', async () => {
    await expect(
      h.client.setRetention({ imageClass: ImageClass.IMAGE_CLASS_FACES, days: 29 }, { metadata: h.admin }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      h.client.setRetention({ imageClass: ImageClass.IMAGE_CLASS_FACES, days: 90 }, { metadata: h.manager }),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    const { policy } = await h.client.setRetention(
      { imageClass: ImageClass.IMAGE_CLASS_VEHICLES, days: 90 },
      { metadata: h.admin },
    );
    expect(policy).toMatchObject({ days: 90, updatedBy: 'district-1' });
    const { policies } = await h.client.getRetention({}, { metadata: h.manager });
    expect(policies.map((p) => p.days).sort()).toEqual([30, 30, 30, 90]);
  });

  it('is refused by the configuration: the service does not start', async () => {
    const db = await createTestDatabase('video-config');
    try {
      const env = serviceTestEnv({
        service: 'video-index',
        databaseUrl: db.url,
        bucket: 'unused',
        extra: { VIDEO_RETENTION_ALARMS_DAYS: '14' },
      });
      // Refused while reading the configuration, before anything is opened.
      expect(() => videoIndexService.start(env, { ownsProcess: false })).toThrow(
        /VIDEO_RETENTION_ALARMS_DAYS: at least 30 days/,
      );
    } finally {
      await db.drop();
    }
  });
});
