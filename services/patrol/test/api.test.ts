/**
 * PatrolService's edges: who may call what (caller tokens, roles, compound scope), refusals of
 * bad requests with the field and the reason, paging, and a poison check-in that goes to the
 * DLQ without stopping the consumer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import { mintCallerMetadata } from '@anfang/platform/auth';
import { dlqTopic, HEADER, type Subscription } from '@anfang/platform/bus';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '@anfang/platform/grpc';
import { uniqueName, waitFor } from '@anfang/testing';
import { localStart, MINUTE_MS, startHarness, type Harness } from './harness.ts';

let h: Harness;
let checkpointId: string;
let guardId: string;
let routeId: string;

beforeAll(async () => {
  h = await startHarness('patrol-api');
  const { checkpoint } = await h.client.createCheckpoint(
    { checkpoint: { compoundId: h.compoundId, name: '东门', tagId: uniqueName('tag') } },
    { metadata: h.manager },
  );
  checkpointId = checkpoint!.checkpointId!;
  const { guard } = await h.client.createGuard(
    { guard: { compoundId: h.compoundId, name: '李四', userId: uniqueName('user') } },
    { metadata: h.manager },
  );
  guardId = guard!.guardId!;
  const { route } = await h.client.createRoute(
    { route: { compoundId: h.compoundId, name: '外圈', stops: [{ checkpointId, toleranceMinutes: 5 }] } },
    { metadata: h.manager },
  );
  routeId = route!.routeId!;
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function refusal(call: Promise<unknown>): Promise<Error> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, 'the call was expected to fail').toBeInstanceOf(Error);
  return error!;
}

describe('caller identity', () => {
  it('refuses a call without a caller token, or with one signed by another key', async () => {
    expect(await refusal(h.client.listRoutes({ compoundId: h.compoundId }))).toBeInstanceOf(
      UnauthenticatedError,
    );
    const forged = await mintCallerMetadata(
      { subject: 'x', role: 'district_admin', compounds: 'all' },
      'another-key-of-at-least-32-bytes-long!!',
    );
    expect(
      await refusal(h.client.listRoutes({ compoundId: h.compoundId }, { metadata: forged })),
    ).toBeInstanceOf(UnauthenticatedError);
  });

  it('lets guards and police read but not plan', async () => {
    const guard = await h.metadataFor({ subject: 'g', role: 'guard', compounds: [h.compoundId] });
    expect(
      (await h.client.listRoutes({ compoundId: h.compoundId }, { metadata: guard })).routes,
    ).toHaveLength(1);
    const police = await h.metadataFor({ subject: 'p', role: 'police', compounds: 'all' });
    expect((await h.client.getRoute({ routeId }, { metadata: police })).route!.name).toBe('外圈');
    expect(
      await refusal(
        h.client.createCheckpoint(
          { checkpoint: { compoundId: h.compoundId, name: 'x', tagId: uniqueName('t') } },
          { metadata: guard },
        ),
      ),
    ).toBeInstanceOf(PermissionDeniedError);
    const resident = await h.metadataFor({ subject: 'r', role: 'resident', compounds: [h.compoundId] });
    expect(
      await refusal(h.client.listRoutes({ compoundId: h.compoundId }, { metadata: resident })),
    ).toBeInstanceOf(PermissionDeniedError);
  });

  it('keeps a manager to the compounds of their scope, on lists, lookups and writes', async () => {
    const other = await h.metadataFor({
      subject: 'm2',
      role: 'community_manager',
      compounds: ['370303009999999'],
    });
    expect(
      await refusal(h.client.listGuards({ compoundId: h.compoundId }, { metadata: other })),
    ).toBeInstanceOf(PermissionDeniedError);
    expect(await refusal(h.client.getRoute({ routeId }, { metadata: other }))).toBeInstanceOf(
      PermissionDeniedError,
    );
    expect(
      await refusal(
        h.client.createSchedule(
          {
            schedule: {
              routeId,
              guardId,
              weekdays: [1],
              startTime: '08:00',
              utcOffsetMinutes: 480,
              validFrom: '2026-12-01',
            },
          },
          { metadata: other },
        ),
      ),
    ).toBeInstanceOf(PermissionDeniedError);
  });

  it('lets a town/street officer read its area only, and auditors and operators plan nothing', async () => {
    const officer = await h.metadataFor({
      subject: 's',
      role: 'street_officer',
      compounds: [],
      areas: [h.compoundId.slice(0, 9)],
    });
    expect(
      (await h.client.listRoutes({ compoundId: h.compoundId }, { metadata: officer })).routes,
    ).toHaveLength(1);
    expect((await h.client.getRoute({ routeId }, { metadata: officer })).route!.name).toBe('外圈');
    const elsewhere = await h.metadataFor({
      subject: 's2',
      role: 'street_officer',
      compounds: [],
      areas: ['370304'],
    });
    expect(
      await refusal(h.client.listRoutes({ compoundId: h.compoundId }, { metadata: elsewhere })),
    ).toBeInstanceOf(PermissionDeniedError);
    expect(await refusal(h.client.getRoute({ routeId }, { metadata: elsewhere }))).toBeInstanceOf(
      PermissionDeniedError,
    );
    for (const role of ['street_officer', 'auditor', 'platform_operator'] as const) {
      const who = await h.metadataFor({ subject: role, role, compounds: 'all' });
      expect(
        await refusal(
          h.client.createCheckpoint(
            { checkpoint: { compoundId: h.compoundId, name: role, tagId: uniqueName('t') } },
            { metadata: who },
          ),
        ),
      ).toBeInstanceOf(PermissionDeniedError);
    }
  });
});

describe('refusals', () => {
  it('names every bad field of a route', async () => {
    const error = await refusal(
      h.client.createRoute(
        {
          route: {
            compoundId: h.compoundId,
            name: '',
            stops: [{ checkpointId }, { checkpointId, toleranceMinutes: 999 }, { checkpointId: 'nope' }],
          },
        },
        { metadata: h.manager },
      ),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).violations.map((v) => v.field).sort()).toEqual(
      [
        'route.name',
        'route.stops[1].checkpoint_id',
        'route.stops[1].tolerance_minutes',
        'route.stops[2].checkpoint_id',
      ].sort(),
    );
  });

  it('refuses a route over checkpoints of another compound, and a second checkpoint with a used tag', async () => {
    expect(
      await refusal(
        h.client.createRoute(
          { route: { compoundId: '370303001234567', name: 'x', stops: [{ checkpointId }] } },
          { metadata: await h.metadataFor({ subject: 'a', role: 'district_admin', compounds: 'all' }) },
        ),
      ),
    ).toBeInstanceOf(FailedPreconditionError);
    const tagId = uniqueName('dup');
    const create = () =>
      h.client.createCheckpoint(
        { checkpoint: { compoundId: h.compoundId, name: 'dup', tagId } },
        { metadata: h.manager },
      );
    await create();
    expect(await refusal(create())).toBeInstanceOf(AlreadyExistsError);
  });

  it('refuses a checkpoint with both a reader and a tag, and a guard with neither tag nor user', async () => {
    const both = await refusal(
      h.client.createCheckpoint(
        { checkpoint: { compoundId: h.compoundId, name: 'x', tagId: 't', deviceId: crypto.randomUUID() } },
        { metadata: h.manager },
      ),
    );
    expect((both as InvalidArgumentError).violations.map((v) => v.field)).toEqual(['checkpoint.device_id']);
    const anonymous = await refusal(
      h.client.createGuard({ guard: { compoundId: h.compoundId, name: 'x' } }, { metadata: h.manager }),
    );
    expect((anonymous as InvalidArgumentError).violations.map((v) => v.field)).toEqual(['guard.tag_id']);
  });

  it('refuses a schedule with bad weekdays, time and dates', async () => {
    const error = await refusal(
      h.client.createSchedule(
        {
          schedule: {
            routeId,
            guardId,
            weekdays: [0, 8],
            startTime: '25:00',
            utcOffsetMinutes: 480,
            validFrom: '2026-12-10',
            validUntil: '2026-12-01',
          },
        },
        { metadata: h.manager },
      ),
    );
    expect((error as InvalidArgumentError).violations.map((v) => v.field).sort()).toEqual(
      ['schedule.start_time', 'schedule.valid_until', 'schedule.weekdays'].sort(),
    );
  });

  it('refuses a report period that is missing, reversed or longer than a year', async () => {
    const at = (iso: string) => timestampFromDate(new Date(iso));
    for (const period of [
      {},
      { from: at('2026-11-02T00:00:00Z'), to: at('2026-11-01T00:00:00Z') },
      { from: at('2025-01-01T00:00:00Z'), to: at('2026-11-01T00:00:00Z') },
    ])
      expect(
        await refusal(h.client.getReport({ compoundId: h.compoundId, ...period }, { metadata: h.manager })),
      ).toBeInstanceOf(InvalidArgumentError);
  });

  it('answers NOT_FOUND for an unknown round or route, INVALID_ARGUMENT for a malformed id or page token', async () => {
    expect(
      await refusal(h.client.getRound({ roundId: crypto.randomUUID() }, { metadata: h.manager })),
    ).toBeInstanceOf(NotFoundError);
    expect(
      await refusal(h.client.getRoute({ routeId: crypto.randomUUID() }, { metadata: h.manager })),
    ).toBeInstanceOf(NotFoundError);
    expect(await refusal(h.client.getRound({ roundId: 'r-1' }, { metadata: h.manager }))).toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(
      await refusal(
        h.client.listRounds(
          { compoundId: h.compoundId, page: { pageToken: 'garbage' } },
          { metadata: h.manager },
        ),
      ),
    ).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('paging', () => {
  it('pages through rounds, latest first, each exactly once', async () => {
    // Every day of the week, three hours from now: one round ahead and one a day earlier, already
    // closed as missed (inside the scheduler's look-back), whatever the time of day the test runs.
    const ahead = localStart(new Date(Date.now() + 3 * 60 * MINUTE_MS));
    const earlierDay = localStart(new Date(ahead.start.getTime() - 24 * 60 * MINUTE_MS)).date;
    const validFrom = localStart(new Date(Date.now() - 2 * 24 * 60 * MINUTE_MS)).date;
    const { schedule } = await h.client.createSchedule(
      {
        schedule: {
          routeId,
          guardId,
          weekdays: [1, 2, 3, 4, 5, 6, 7],
          startTime: ahead.startTime,
          utcOffsetMinutes: 480,
          validFrom,
        },
      },
      { metadata: h.manager },
    );
    const all = await waitFor(async () => {
      const { rounds } = await h.client.listRounds({ compoundId: h.compoundId }, { metadata: h.manager });
      return rounds!.length >= 2 && rounds;
    });
    expect(all.every((r) => r.scheduleId === schedule!.scheduleId)).toBe(true);
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await h.client.listRounds(
        { compoundId: h.compoundId, page: { pageSize: 1, pageToken } },
        { metadata: h.manager },
      );
      seen.push(...page.rounds!.map((r) => r.roundId!));
      pageToken = page.page!.nextPageToken!;
    } while (pageToken);
    expect(seen).toEqual(all.map((r) => r.roundId));
    const starts = all.map((r) => Number(r.plannedStart!.seconds));
    expect(starts).toEqual([...starts].sort((a, b) => b - a));

    // Ending the schedule on the earlier round's day removes the later round nobody walked and
    // keeps the closed one.
    const scheduleId = schedule!.scheduleId!;
    expect(
      await refusal(h.client.endSchedule({ scheduleId, validUntil: '2020-01-01' }, { metadata: h.manager })),
    ).toBeInstanceOf(FailedPreconditionError);
    const ended = await h.client.endSchedule({ scheduleId, validUntil: earlierDay }, { metadata: h.manager });
    expect(ended.schedule!.validUntil).toBe(earlierDay);
    const after = all.filter((r) => Number(r.plannedStart!.seconds) * 1000 === ahead.start.getTime());
    expect(after).toHaveLength(1);
    expect(ended.roundsRemoved).toBe(1);
    const { rounds: left } = await h.client.listRounds({ compoundId: h.compoundId }, { metadata: h.manager });
    expect(left!.map((r) => r.roundId)).toEqual(all.filter((r) => !after.includes(r)).map((r) => r.roundId));
  });
});

describe('a poison check-in', () => {
  let dlq: Subscription;
  const dead: { key: string; reason: string }[] = [];

  afterAll(async () => {
    await dlq?.close();
  });

  it('goes to the DLQ with the reason, and the next check-in is still consumed', async () => {
    const key = uniqueName('poison-device');
    dlq = await h.bus.subscribe({
      group: uniqueName('patrol-dlq-watch'),
      topics: [dlqTopic(topics.devicePatrolCheckedIn.name)],
      handler: async (message) => {
        // Every test file's service dead-letters the same poison: only this one's count.
        if (message.key === key && message.headers[HEADER.dlqConsumerGroup] === h.serviceName)
          dead.push({ key, reason: message.headers[HEADER.dlqReason] ?? '' });
      },
    });
    await h.bus.publish(topics.devicePatrolCheckedIn.name, [
      { key, value: new Uint8Array([0xff, 0xff, 0xff]) },
    ]);
    // Decodes, but names no checkpoint at all: refused as permanent, not retried.
    await h.bus.publish(topics.devicePatrolCheckedIn.name, [
      {
        key,
        value: anfang.device.v1.PatrolCheckedIn.encode({
          meta: { eventId: crypto.randomUUID(), occurredAt: timestampFromDate(new Date()) },
        }).finish(),
      },
    ]);
    const after = await h.checkIn({
      at: new Date(),
      checkpointTagId: uniqueName('unknown-tag'),
      guardTagId: 'x',
    });
    await waitFor(() => dead.length === 2, {
      timeoutMs: 30_000,
      message: 'poison messages did not reach the DLQ',
    });
    expect(dead.every((d) => d.reason.length > 0)).toBe(true);
    await waitFor(async () => {
      const { rows } = await h.sql.query('SELECT 1 FROM check_ins WHERE event_id = $1', [after]);
      return rows.length === 1;
    });
  });
});
