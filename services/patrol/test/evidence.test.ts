/**
 * Patrol evidence on anfang.patrol.evidence.v1 (real Kafka and Postgres): a route over
 * checkpoints is published when it is defined, and a round walked to the end is counted as
 * completed in the window as soon as its last check-in arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { anfang } from '@anfang/contracts';
import { topics } from '@anfang/contracts';
import { uniqueName, waitFor, watchTopics, type TopicWatch } from '@anfang/testing';
import { localStart, MINUTE_MS, startHarness, type Harness } from './harness.ts';

type Evidence = anfang.patrol.v1.PatrolEvidenceReported;

let h: Harness;
let watch: TopicWatch;
beforeAll(async () => {
  h = await startHarness('patrol-evidence', {
    // Long enough that what the test sees after a change comes from the change, not the interval.
    PATROL_EVIDENCE_INTERVAL_MS: '600000',
    PATROL_EVIDENCE_DEBOUNCE_MS: '50',
    PATROL_CLOSE_GRACE_MINUTES: '60',
  });
  watch = await watchTopics(h.bus, {
    label: 'patrol-evidence',
    topics: [topics.patrolEvidence],
    producer: h.serviceName,
    compoundId: h.compoundId,
  });
});
afterAll(async () => {
  await watch?.close();
  await h?.close();
});

const latest = () => watch.events<Evidence>(topics.patrolEvidence).at(-1);

describe('patrol evidence', () => {
  it('reports routes over checkpoints, then a completed round in the window', async () => {
    const metadata = h.manager;
    const tags = [uniqueName('tag-a'), uniqueName('tag-b')];
    const checkpointIds: string[] = [];
    for (const [i, tagId] of tags.entries()) {
      const { checkpoint } = await h.client.createCheckpoint(
        { checkpoint: { compoundId: h.compoundId, name: `岗 ${i}`, tagId } },
        { metadata },
      );
      checkpointIds.push(checkpoint!.checkpointId!);
    }
    const { route } = await h.client.createRoute(
      {
        route: {
          compoundId: h.compoundId,
          name: 'R A-B',
          stops: checkpointIds.map((checkpointId, i) => ({
            checkpointId,
            minutesFromPrevious: i * 10,
            toleranceMinutes: 5,
            stayMinutes: 0,
          })),
        },
      },
      { metadata },
    );
    let evidence = await waitFor(() => latest()?.routes === 1 && latest(), { timeoutMs: 20_000 });
    expect(evidence).toMatchObject({
      compoundId: h.compoundId,
      routes: 1,
      checkpoints: 2,
      windowHours: 24,
      roundsCompleted: 0,
    });

    const guardTagId = uniqueName('card');
    const { guard } = await h.client.createGuard(
      { guard: { compoundId: h.compoundId, name: 'guard', tagId: guardTagId } },
      { metadata },
    );
    const when = localStart(new Date(Date.now() - 30 * MINUTE_MS));
    await h.client.createSchedule(
      {
        schedule: {
          routeId: route!.routeId!,
          guardId: guard!.guardId!,
          shiftName: '夜班',
          weekdays: [1, 2, 3, 4, 5, 6, 7],
          startTime: when.startTime,
          utcOffsetMinutes: 480,
          validFrom: when.date,
        },
      },
      { metadata },
    );
    await waitFor(
      async () =>
        ((await h.sql.query('SELECT 1 FROM rounds WHERE route_id = $1', [route!.routeId])).rowCount ?? 0) > 0,
      { timeoutMs: 20_000, message: 'the round was not materialised' },
    );
    await h.checkIn({ at: new Date(when.start.getTime() + MINUTE_MS), checkpointTagId: tags[0], guardTagId });
    await h.checkIn({
      at: new Date(when.start.getTime() + 11 * MINUTE_MS),
      checkpointTagId: tags[1],
      guardTagId,
    });
    evidence = await waitFor(() => latest()?.roundsCompleted === 1 && latest(), { timeoutMs: 20_000 });
    expect(evidence).toMatchObject({ routes: 1, roundsDue: 1, roundsCompleted: 1 });
  });
});
