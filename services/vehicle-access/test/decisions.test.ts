/**
 * Every barrier decision branch end to end: plate reads published on the real Kafka topic, the
 * started service deciding against its real Postgres, and the passages, hits and barrier
 * commands it publishes read back from Kafka.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, timestampFromDate } from '@anfang/contracts';
import { FailedPreconditionError, PermissionDeniedError } from '@anfang/platform/grpc';
import { waitFor } from '@anfang/testing';
import { setUpCarPark, startHarness, type Harness } from './harness.ts';

const { BarrierDecision: D, BarrierReason: R, WatchlistAction, UnknownVehicleAction } = anfang.vehicle.v1;
const { Priority, ImageKind } = anfang.common.v1;

let h: Harness;
let lanes: { carParkId: string; entry: string; exit: string };
let raw: pg.Client;
const hour = 3600_000;

async function register(plate: string, validity?: { start?: Date; end?: Date }) {
  const { vehicle } = await h.client.createVehicle(
    {
      vehicle: {
        compoundId: h.compoundId,
        plateNumber: plate,
        ownerPersonId: randomUUID(),
        ...(validity
          ? {
              validity: {
                ...(validity.start ? { startTime: timestampFromDate(validity.start) } : {}),
                ...(validity.end ? { endTime: timestampFromDate(validity.end) } : {}),
              },
            }
          : {}),
      },
    },
    { metadata: await h.as({ role: 'property_staff' }) },
  );
  return vehicle!;
}

async function occupancy() {
  const { carParks } = await h.client.getParkingOccupancy(
    { compoundId: h.compoundId },
    { metadata: await h.as({ role: 'guard' }) },
  );
  return carParks.find((c) => c.carParkId === lanes.carParkId)!;
}

async function setPolicy(policy: Partial<anfang.vehicle.v1.CompoundPolicy.$Properties>) {
  await h.client.setCompoundPolicy(
    { policy: { compoundId: h.compoundId, ...policy } },
    { metadata: await h.as({ role: 'community_manager' }) },
  );
}

beforeAll(async () => {
  h = await startHarness('decisions');
  lanes = await setUpCarPark(h, { maxStayMinutes: 60 });
  raw = new pg.Client({ connectionString: h.db.url });
  await raw.connect();
});

afterAll(async () => {
  await raw?.end();
  await h?.close();
});

describe('barrier decisions', () => {
  it('opens for a registered vehicle, with images, video link and a barrier command', async () => {
    const vehicle = await register('鲁C20001');
    const readId = await h.read({ deviceId: lanes.entry, plate: '鲁C·20001' });
    const passage = await h.passageOf(readId);
    expect(passage).toMatchObject({
      decision: D.BARRIER_DECISION_OPEN,
      reason: R.BARRIER_REASON_REGISTERED,
      vehicleId: vehicle.vehicleId,
      ownerPersonId: vehicle.ownerPersonId,
      plateNumber: '鲁C20001',
      plateNumberRaw: '鲁C·20001',
      carParkId: lanes.carParkId,
    });
    expect(passage.meta?.compoundId).toBe(h.compoundId);
    expect(passage.images.map((i) => i.kind)).toEqual([
      ImageKind.IMAGE_KIND_VEHICLE,
      ImageKind.IMAGE_KIND_DRIVER_FACE,
    ]);
    expect(passage.video[0]?.cameraDeviceId).toBe(lanes.entry);
    expect(
      Number(passage.video[0]?.playback?.endTime?.seconds) -
        Number(passage.video[0]?.playback?.startTime?.seconds),
    ).toBe(60);
    const command = await waitFor(() =>
      h.commands.find((c) => c.deviceId === lanes.entry && c.reason.includes('registered')),
    );
    expect(command.openBarrier).toBeTruthy();
  });

  it('opens for a registered plate read with O/I confusions and flags it', async () => {
    await register('鲁C10215');
    const passage = await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '鲁C1O2I5' }));
    expect(passage).toMatchObject({
      decision: D.BARRIER_DECISION_OPEN,
      reason: R.BARRIER_REASON_REGISTERED,
      plateNumber: '鲁C1O2I5',
      plateConfusable: true,
    });
  });

  it('opens for an authorised visitor and holds a registration out of its validity', async () => {
    const { authorisation } = await h.client.createVisitorAuthorisation(
      {
        authorisation: {
          compoundId: h.compoundId,
          plateNumber: '苏E66666',
          window: {
            startTime: timestampFromDate(new Date(Date.now() - hour)),
            endTime: timestampFromDate(new Date(Date.now() + hour)),
          },
        },
      },
      { metadata: await h.as({ role: 'resident', subject: 'resident-1' }) },
    );
    const visitor = await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '苏E66666' }));
    expect(visitor).toMatchObject({
      decision: D.BARRIER_DECISION_OPEN,
      reason: R.BARRIER_REASON_VISITOR_AUTHORISED,
      visitorAuthorisationId: authorisation!.authorisationId,
    });

    await register('鲁C20002', { end: new Date(Date.now() - hour) });
    const expired = await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '鲁C20002' }));
    expect(expired).toMatchObject({ decision: D.BARRIER_DECISION_HOLD, reason: R.BARRIER_REASON_EXPIRED });
  });

  it('holds an unknown vehicle until a guard releases it, recording who and why', async () => {
    const readId = await h.read({ deviceId: lanes.entry, plate: '浙A5B678' });
    const held = await h.passageOf(readId);
    expect(held).toMatchObject({
      decision: D.BARRIER_DECISION_HOLD,
      reason: R.BARRIER_REASON_UNKNOWN_VEHICLE,
    });
    const before = await occupancy();

    const guard = await h.as({ role: 'guard', subject: 'guard-7' });
    const { passage } = await h.client.releaseHeldVehicle(
      { passageId: held.passageId, reason: '快递车辆' },
      { metadata: guard },
    );
    expect(passage).toMatchObject({
      passageId: held.passageId,
      decision: D.BARRIER_DECISION_OPEN,
      reason: R.BARRIER_REASON_GUARD_OPENED,
      operatorUserId: 'guard-7',
      operatorReason: '快递车辆',
    });
    const republished = await waitFor(() =>
      h.passages.find((p) => p.passageId === held.passageId && p.reason === R.BARRIER_REASON_GUARD_OPENED),
    );
    expect(republished.operatorUserId).toBe('guard-7');
    await waitFor(() =>
      h.commands.find((c) => c.requestedBy === 'guard-7' && c.reason === 'guard release: 快递车辆'),
    );
    expect((await occupancy()).others).toBe((before.others ?? 0) + 1);

    await expect(
      h.client.releaseHeldVehicle({ passageId: held.passageId, reason: 'again' }, { metadata: guard }),
    ).rejects.toThrow(FailedPreconditionError);
    await expect(
      h.client.releaseHeldVehicle(
        { passageId: held.passageId, reason: 'x' },
        { metadata: await h.as({ role: 'resident' }) },
      ),
    ).rejects.toThrow(PermissionDeniedError);
  });

  it('opens an unknown vehicle when the compound policy says so', async () => {
    await setPolicy({ unknownVehicleAction: UnknownVehicleAction.UNKNOWN_VEHICLE_ACTION_OPEN });
    try {
      const passage = await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '皖A12345' }));
      expect(passage).toMatchObject({
        decision: D.BARRIER_DECISION_OPEN,
        reason: R.BARRIER_REASON_UNKNOWN_VEHICLE,
      });
    } finally {
      await setPolicy({});
    }
  });

  it('never opens a spoofed capture, even of a registered vehicle, and the guard cannot release it', async () => {
    await register('鲁C20003');
    const passage = await h.passageOf(
      await h.read({ deviceId: lanes.entry, plate: '鲁C20003', spoof: true }),
    );
    expect(passage).toMatchObject({ decision: D.BARRIER_DECISION_DENY, reason: R.BARRIER_REASON_SPOOF });
    await expect(
      h.client.releaseHeldVehicle(
        { passageId: passage.passageId, reason: 'looks fine' },
        { metadata: await h.as({ role: 'guard' }) },
      ),
    ).rejects.toThrow(/never opens/);
  });

  it('records unreadable, invalid, low-confidence and unknown-device reads with their reason and never opens', async () => {
    await register('鲁C20004');
    const noPlate = await h.passageOf(await h.read({ deviceId: lanes.entry }));
    expect(noPlate).toMatchObject({
      decision: D.BARRIER_DECISION_HOLD,
      reason: R.BARRIER_REASON_UNREADABLE_PLATE,
      plateNumber: '',
    });

    const invalid = await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '台A12345' }));
    expect(invalid).toMatchObject({
      decision: D.BARRIER_DECISION_HOLD,
      reason: R.BARRIER_REASON_UNREADABLE_PLATE,
      reasonDetail: 'unknown province abbreviation 台',
      plateNumberRaw: '台A12345',
    });

    const low = await h.passageOf(
      await h.read({ deviceId: lanes.entry, plate: '鲁C20004', confidence: 0.31 }),
    );
    expect(low).toMatchObject({
      decision: D.BARRIER_DECISION_HOLD,
      reason: R.BARRIER_REASON_LOW_CONFIDENCE,
      reasonDetail: 'confidence 0.31 below 0.70',
    });

    const stranger = await h.passageOf(await h.read({ deviceId: randomUUID(), plate: '鲁C20004' }));
    expect(stranger).toMatchObject({
      decision: D.BARRIER_DECISION_DENY,
      reason: R.BARRIER_REASON_UNKNOWN_DEVICE,
      carParkId: '',
    });
  });

  it('pairs an exit with its entry and keeps occupancy in step', async () => {
    await register('鲁C20005');
    const start = await occupancy();
    const entry = await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '鲁C20005' }));
    expect(entry.decision).toBe(D.BARRIER_DECISION_OPEN);
    expect(await occupancy()).toMatchObject({
      occupied: (start.occupied ?? 0) + 1,
      registered: (start.registered ?? 0) + 1,
    });

    const exit = await h.passageOf(
      await h.read({ deviceId: lanes.exit, plate: '鲁C20005', direction: 'out' }),
    );
    expect(exit).toMatchObject({
      decision: D.BARRIER_DECISION_OPEN,
      direction: anfang.common.v1.Direction.DIRECTION_OUT,
      pairedPassageId: entry.passageId,
    });
    expect(await occupancy()).toMatchObject({ occupied: start.occupied, registered: start.registered });

    const { passages } = await h.client.listPassages(
      { compoundId: h.compoundId, plateNumber: '鲁C20005' },
      { metadata: await h.as({ role: 'police', compounds: 'all' }) },
    );
    expect(passages.map((p) => [p.passageId, p.pairedPassageId])).toEqual([
      [exit.passageId, entry.passageId],
      [entry.passageId, exit.passageId],
    ]);
  });

  it('keeps occupancy equal to entries minus exits under concurrent reads on several lanes', async () => {
    const manager = await h.as({ role: 'community_manager' });
    const entries = [lanes.entry, randomUUID(), randomUUID()];
    const exits = [lanes.exit, randomUUID()];
    for (const [deviceId, direction] of [
      ...entries.slice(1).map((d) => [d, anfang.common.v1.Direction.DIRECTION_IN] as const),
      ...exits.slice(1).map((d) => [d, anfang.common.v1.Direction.DIRECTION_OUT] as const),
    ])
      await h.client.setLane(
        { lane: { deviceId, carParkId: lanes.carParkId, direction } },
        { metadata: manager },
      );
    const plates = Array.from({ length: 30 }, (_, i) => `粤B${String(70_000 + i)}`);
    for (const plate of plates) await register(plate);
    const start = await occupancy();

    const ins = await Promise.all(
      plates.map((plate, i) => h.read({ deviceId: entries[i % entries.length]!, plate })),
    );
    await Promise.all(ins.map((id) => h.passageOf(id)));
    const leaving = plates.slice(0, 12);
    const outs = await Promise.all(
      leaving.map((plate, i) => h.read({ deviceId: exits[i % exits.length]!, plate, direction: 'out' })),
    );
    const exitPassages = await Promise.all(outs.map((id) => h.passageOf(id)));

    expect(
      exitPassages.every((p) => p.decision === D.BARRIER_DECISION_OPEN && p.pairedPassageId !== ''),
    ).toBe(true);
    expect(await occupancy()).toMatchObject({
      occupied: (start.occupied ?? 0) + 18,
      registered: (start.registered ?? 0) + 18,
    });
  });

  it('pairs an entry that arrives after its exit (a camera uploading its backlog) without counting it inside', async () => {
    await register('鲁C20008');
    const start = await occupancy();
    const exitAt = new Date(Date.now() - 5 * 60_000);
    const exit = await h.passageOf(
      await h.read({ deviceId: lanes.exit, plate: '鲁C20008', direction: 'out', at: exitAt }),
    );
    expect(exit).toMatchObject({ decision: D.BARRIER_DECISION_OPEN, pairedPassageId: '' });
    const entry = await h.passageOf(
      await h.read({ deviceId: lanes.entry, plate: '鲁C20008', at: new Date(exitAt.getTime() - 3600_000) }),
    );
    expect(entry).toMatchObject({ decision: D.BARRIER_DECISION_OPEN, pairedPassageId: exit.passageId });
    expect((await occupancy()).occupied).toBe(start.occupied);
    const { passages } = await h.client.listPassages(
      { compoundId: h.compoundId, plateNumber: '鲁C20008' },
      { metadata: await h.as({ role: 'guard' }) },
    );
    expect(passages.find((p) => p.passageId === exit.passageId)?.pairedPassageId).toBe(entry.passageId);
  });

  it('anti-passback holds a second entry without an exit, when the compound turns it on', async () => {
    await register('鲁C20006');
    await setPolicy({ antiPassback: true });
    try {
      expect((await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '鲁C20006' }))).decision).toBe(
        D.BARRIER_DECISION_OPEN,
      );
      expect(await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '鲁C20006' }))).toMatchObject({
        decision: D.BARRIER_DECISION_HOLD,
        reason: R.BARRIER_REASON_ANTI_PASSBACK,
      });
    } finally {
      await setPolicy({});
    }
  });

  it('lists overstaying visitors and vehicles past the car park maximum stay', async () => {
    await setPolicy({ unknownVehicleAction: UnknownVehicleAction.UNKNOWN_VEHICLE_ACTION_OPEN });
    try {
      const long = await h.passageOf(
        await h.read({ deviceId: lanes.entry, plate: '川A99999', at: new Date(Date.now() - 2 * hour) }),
      );
      expect(long.decision).toBe(D.BARRIER_DECISION_OPEN);
      const short = await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '川A99998' }));
      expect(short.decision).toBe(D.BARRIER_DECISION_OPEN);
    } finally {
      await setPolicy({});
    }
    const { authorisation } = await h.client.createVisitorAuthorisation(
      {
        authorisation: {
          compoundId: h.compoundId,
          plateNumber: '川A77777',
          window: {
            startTime: timestampFromDate(new Date(Date.now() - hour)),
            endTime: timestampFromDate(new Date(Date.now() + hour)),
          },
        },
      },
      { metadata: await h.as({ role: 'property_staff' }) },
    );
    expect((await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '川A77777' }))).reason).toBe(
      R.BARRIER_REASON_VISITOR_AUTHORISED,
    );
    // The visit ends while the vehicle is still inside.
    await raw.query(
      `UPDATE visitor_authorisations SET window_end = now() - interval '1 minute', window_start = now() - interval '2 hours' WHERE authorisation_id = $1`,
      [authorisation!.authorisationId],
    );

    const { vehicles } = await h.client.listOverstayingVehicles(
      { compoundId: h.compoundId },
      { metadata: await h.as({ role: 'guard' }) },
    );
    const plates = vehicles.map((v) => v.plateNumber);
    expect(plates).toContain('川A99999');
    expect(plates).toContain('川A77777');
    expect(plates).not.toContain('川A99998');
    expect(vehicles.find((v) => v.plateNumber === '川A77777')?.visitorAuthorisationId).toBe(
      authorisation!.authorisationId,
    );
  });

  it('records a resent read once', async () => {
    await register('鲁C20007');
    const sourceObjectId = randomUUID();
    const first = await h.read({ deviceId: lanes.entry, plate: '鲁C20007', sourceObjectId });
    await h.passageOf(first);
    const again = await h.read({ deviceId: lanes.entry, plate: '鲁C20007', sourceObjectId });
    expect(again).toBe(first);
    // A later read proves the resend was consumed before it.
    await h.passageOf(await h.read({ deviceId: lanes.entry, plate: '鲁C20007' }));
    const { rows } = await raw.query('SELECT count(*)::int AS n FROM passages WHERE source_event_id = $1', [
      first,
    ]);
    expect(rows[0].n).toBe(1);
  });
});

describe('watchlist decisions', () => {
  it('publishes a hit and holds for an alarm-and-hold entry, overriding a registration', async () => {
    await register('鲁C30001');
    const police = await h.as({ role: 'police', compounds: 'all' });
    const { entry } = await h.client.setWatchlistEntry(
      {
        entry: {
          plateNumber: '鲁C30001',
          reason: '涉嫌盗窃',
          priority: Priority.PRIORITY_HIGH,
          action: WatchlistAction.WATCHLIST_ACTION_ALARM_AND_HOLD,
        },
      },
      { metadata: police },
    );
    const readId = await h.read({ deviceId: lanes.entry, plate: '鲁C30001' });
    const hit = await waitFor(() => h.hits.find((x) => x.sourceEventId === readId), { timeoutMs: 30_000 });
    expect(hit).toMatchObject({
      entryId: entry!.entryId,
      plateNumber: '鲁C30001',
      priority: Priority.PRIORITY_HIGH,
      listingReason: '涉嫌盗窃',
      action: WatchlistAction.WATCHLIST_ACTION_ALARM_AND_HOLD,
    });
    expect(hit.images).toHaveLength(2);
    expect(hit.video[0]?.cameraDeviceId).toBe(lanes.entry);
    const passage = await h.passageOf(readId);
    expect(passage).toMatchObject({
      passageId: hit.passageId,
      decision: D.BARRIER_DECISION_HOLD,
      reason: R.BARRIER_REASON_WATCHLIST,
      watchlistEntryId: entry!.entryId,
    });
  });

  it('publishes a hit and lets the vehicle through as usual for a silent entry', async () => {
    await register('鲁C30002');
    await h.client.setWatchlistEntry(
      {
        entry: {
          plateNumber: '鲁C30002',
          reason: '布控',
          priority: Priority.PRIORITY_CRITICAL,
          action: WatchlistAction.WATCHLIST_ACTION_ALARM_SILENTLY,
        },
      },
      { metadata: await h.as({ role: 'police', compounds: 'all' }) },
    );
    const readId = await h.read({ deviceId: lanes.entry, plate: '鲁C30002' });
    await waitFor(() => h.hits.find((x) => x.sourceEventId === readId), { timeoutMs: 30_000 });
    expect(await h.passageOf(readId)).toMatchObject({
      decision: D.BARRIER_DECISION_OPEN,
      reason: R.BARRIER_REASON_REGISTERED,
    });
  });
});
