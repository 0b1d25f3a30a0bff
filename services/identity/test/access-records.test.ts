/**
 * Stored access records against real Postgres and Kafka: every recorded decision (Authorize
 * with `record`, device events) is stored with its event, ListAccessRecords filters by door,
 * person, window and decision and pages newest first with each row once, role and scope are
 * checked, names are masked unless revealed (and a revealing read is audited), and records past
 * the retention period are pruned.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, timestampFromMillis, topics } from '@anfang/contracts';
import { InvalidArgumentError, PermissionDeniedError } from '@anfang/platform/grpc';
import { waitFor } from '@anfang/testing';
import {
  COMPOUND,
  present,
  seedResident,
  seedSite,
  startIdentity,
  type Harness,
  type Site,
} from './harness.ts';

const { CredentialType, DeviceType, ImageKind } = anfang.common.v1;
const { AccessDecision, AccessReason } = anfang.identity.v1;
const DAY_MS = 86_400_000;

const devices = new Set<string>();
let h: Harness;
let site: Site;
let db: pg.Pool;
let resident: Awaited<ReturnType<typeof seedResident>>;
/** What was recorded, in the order it happened. */
const made: { recordId: string; at: number; deviceId: string; allowed: boolean }[] = [];
/**
 * The records of this file lie in the twelve minutes before BASE, an hour after the resident's
 * grant begins: independent of the time of day, and after anything recorded "now".
 */
let BASE = 0;
const FIRST = () => BASE - 12 * 60_000;

type ListRequest = Partial<anfang.identity.v1.ListAccessRecordsRequest.$Properties>;

async function record(deviceId: string, card: string, at: number) {
  const response = await h.client.authorize(
    {
      deviceId,
      credentialType: CredentialType.CREDENTIAL_TYPE_CARD,
      credentialValue: card,
      at: timestampFromMillis(at),
      record: true,
    },
    await h.as('service', { compounds: 'all' }),
  );
  const allowed = response.decision === AccessDecision.ACCESS_DECISION_ALLOWED;
  made.push({ recordId: present(response.recordId, 'record id'), at, deviceId, allowed });
  return response;
}

async function list(request: ListRequest, as?: Awaited<ReturnType<Harness['as']>>) {
  return h.client.listAccessRecords(
    { compoundId: COMPOUND, ...request },
    as ?? (await h.as('property_staff')),
  );
}

/** Every record of a query, page by page. */
async function all(request: ListRequest, pageSize: number) {
  const rows: Awaited<ReturnType<typeof list>>['records'] = [];
  let pageToken = '';
  for (let pages = 0; pages < 100; pages++) {
    const page = await list({ ...request, page: { pageSize, pageToken } });
    rows.push(...page.records);
    pageToken = page.page?.nextPageToken ?? '';
    if (!pageToken) return rows;
  }
  throw new Error('paging did not end');
}

const newestFirst = (records: typeof made) => [...records].sort((a, b) => b.at - a.at).map((m) => m.recordId);
const ids = (records: readonly { recordId?: string | null }[]) => records.map((r) => r.recordId ?? '').sort();

beforeAll(async () => {
  h = await startIdentity('identity_access_records', devices);
  site = await seedSite(h, devices);
  db = h.db.pool(2);
  resident = await seedResident(h, site, 11, 'C0FFEE01');
  BASE = Date.now() + 3_600_000;
  // A minute apart: allowed at the gate and unit door, refused at the other unit door (wrong
  // door) and for an unknown card.
  for (let i = 0; i < 12; i++) {
    const door = [site.gateDevice, site.unitDevice, site.otherUnitDevice][i % 3]!;
    await record(door, i % 4 === 3 ? 'DEAD0000' : 'C0FFEE01', FIRST() + i * 60_000);
  }
}, 180_000);

afterAll(async () => {
  await h?.stop();
});

describe('ListAccessRecords', () => {
  it('stores every recorded decision with its event, newest first', async () => {
    const { records } = await list({ page: { pageSize: 100 } });
    expect(records.map((r) => r.recordId)).toEqual(newestFirst(made));
    expect(made.some((m) => m.allowed) && made.some((m) => !m.allowed)).toBe(true);
    const newest = records[0]!;
    const source = made.find((m) => m.recordId === newest.recordId)!;
    expect(newest).toMatchObject({
      compoundId: COMPOUND,
      device: { deviceId: source.deviceId },
      decision: source.allowed
        ? AccessDecision.ACCESS_DECISION_ALLOWED
        : AccessDecision.ACCESS_DECISION_DENIED,
    });
    // The event of the same decision carries the same record id (one transaction).
    await waitFor(() => h.events.records.find((r) => r.recordId === newest.recordId), { timeoutMs: 30_000 });
  });

  it('records a device event with its snapshot', async () => {
    const eventId = randomUUID();
    await h.devices.publish(
      topics.deviceCredentialPresented,
      {
        device: { deviceId: site.gateDevice, deviceType: DeviceType.DEVICE_TYPE_UNIT_DOOR_TERMINAL },
        sourceObjectId: eventId,
        card: { cardNumber: 'C0FFEE01' },
        images: [{ objectKey: `device-ingest/captures/${eventId}.jpg`, kind: ImageKind.IMAGE_KIND_SCENE }],
      },
      { eventId },
    );
    const event = await waitFor(() => h.events.records.find((r) => r.sourceEventId === eventId), {
      timeoutMs: 60_000,
    });
    // Recorded at the event's time (now), before this file's other records.
    const { records } = await list({
      window: { endTime: timestampFromMillis(FIRST()) },
      page: { pageSize: 5 },
    });
    const stored = records.find((r) => r.recordId === event.recordId);
    expect(stored).toMatchObject({
      doorId: site.gateDoor,
      doorName: '东门人行道闸',
      personId: resident.person.personId,
      snapshotKey: `device-ingest/captures/${eventId}.jpg`,
      reason: AccessReason.ACCESS_REASON_GRANTED,
    });
  });

  it('filters by door, person, window and decision', async () => {
    const [from, to] = [FIRST() + 3 * 60_000, FIRST() + 9 * 60_000];
    const window = { startTime: timestampFromMillis(from), endTime: timestampFromMillis(to) };
    const inWindow = made.filter((m) => m.at >= from && m.at < to);
    const byWindow = await all({ window }, 100);
    expect(ids(byWindow)).toEqual(ids(inWindow));

    const atUnit = await all({ doorId: site.unitDoor, window }, 100);
    expect(ids(atUnit)).toEqual(ids(inWindow.filter((m) => m.deviceId === site.unitDevice)));
    expect(atUnit.length).toBeGreaterThan(0);

    const refused = await all({ decision: AccessDecision.ACCESS_DECISION_DENIED, window }, 100);
    expect(ids(refused)).toEqual(ids(inWindow.filter((m) => !m.allowed)));
    const allowed = await all({ decision: AccessDecision.ACCESS_DECISION_ALLOWED, window }, 100);
    expect(ids(allowed)).toEqual(ids(inWindow.filter((m) => m.allowed)));

    // The resident's passes and refusals (wrong door), not the unknown card's.
    const theirs = await all({ personId: resident.person.personId, window }, 100);
    expect(ids(theirs)).toEqual(ids(byWindow.filter((r) => r.personId === resident.person.personId)));
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.length).toBeLessThan(byWindow.length);
  });

  it('pages each row exactly once, newest first', async () => {
    const window = { startTime: timestampFromMillis(FIRST()), endTime: timestampFromMillis(BASE) };
    const rows = await all({ window }, 5);
    expect(rows.map((r) => r.recordId)).toEqual(newestFirst(made));
    await expect(list({ page: { pageToken: 'not-a-token' } })).rejects.toThrow(InvalidArgumentError);
    await expect(
      list({ window: { startTime: timestampFromMillis(BASE), endTime: timestampFromMillis(BASE - 1) } }),
    ).rejects.toThrow(/window.end_time/);
  });

  it('checks role and scope', async () => {
    await expect(list({}, await h.as('platform_operator'))).rejects.toThrow(PermissionDeniedError);
    await expect(list({}, await h.as('resident'))).rejects.toThrow(PermissionDeniedError);
    await expect(list({}, await h.as('police', { compounds: ['370303001001008'] }))).rejects.toThrow(
      PermissionDeniedError,
    );
    // An area scope holds the compound; another area does not.
    expect(
      (
        await list(
          { page: { pageSize: 1 } },
          await h.as('street_officer', { compounds: [], areas: ['370303001'] }),
        )
      ).records,
    ).toHaveLength(1);
    await expect(
      list({}, await h.as('street_officer', { compounds: [], areas: ['370303002'] })),
    ).rejects.toThrow(PermissionDeniedError);
    expect((await list({ page: { pageSize: 1 } }, await h.as('auditor'))).records).toHaveLength(1);
  });

  it('masks names unless revealed, and audits a revealing read', async () => {
    const filter = { personId: resident.person.personId, page: { pageSize: 3 } };
    const masked = await list(filter, await h.as('auditor'));
    expect(masked.records[0]).toMatchObject({ revealed: false });
    expect(masked.records[0]!.personName).not.toBe('张三丰');
    expect(masked.records[0]!.personName).toContain('*');

    await expect(list({ ...filter, reveal: true }, await h.as('auditor'))).rejects.toThrow(
      PermissionDeniedError,
    );
    await expect(list({ ...filter, reveal: true }, await h.as('community_manager'))).rejects.toThrow(
      /purpose/,
    );
    const subject = `police-${randomUUID()}`;
    const revealed = await list(
      { ...filter, reveal: true },
      await h.as('police', { subject, purpose: '案件核查' }),
    );
    expect(revealed.records[0]).toMatchObject({ personName: '张三丰', revealed: true });
    const { rows } = await db.query(
      `SELECT actor_role, purpose, action, subject_kind, subject_id, fields FROM audit_log WHERE actor_subject = $1`,
      [subject],
    );
    expect(rows).toEqual([
      {
        actor_role: 'police',
        purpose: '案件核查',
        action: 'access-record.read',
        subject_kind: 'person',
        subject_id: resident.person.personId,
        fields: ['name'],
      },
    ]);
  });
});

describe('retention', () => {
  it('prunes records older than the retention period (180 days) and keeps the rest', async () => {
    const old = present(
      (await record(site.gateDevice, 'C0FFEE01', Date.now() - 200 * DAY_MS)).recordId,
      'id',
    );
    const kept = present(
      (await record(site.gateDevice, 'C0FFEE01', Date.now() - 170 * DAY_MS)).recordId,
      'id',
    );
    // The event of the pruned record was published: it was stored with it.
    await waitFor(() => h.events.records.find((r) => r.recordId === old), { timeoutMs: 30_000 });
    // The harness sweeps every half second.
    await waitFor(
      async () => {
        const { rows } = await db.query('SELECT record_id FROM access_records WHERE record_id = ANY($1)', [
          [old, kept],
        ]);
        return rows.length === 1 ? rows : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const { rows } = await db.query('SELECT record_id FROM access_records WHERE record_id = ANY($1)', [
      [old, kept],
    ]);
    expect(rows.map((r: { record_id: string }) => r.record_id)).toEqual([kept]);
  });
});
