/**
 * Missed acknowledge deadlines, with two replicas running the escalation job over one
 * database: an unacknowledged alarm climbs the duty rule's chain one level per missed deadline,
 * each level recorded and published exactly once; an acknowledged alarm stops climbing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { waitFor } from '@anfang/testing';
import { createWall, startHarness, type Harness } from './harness.ts';

const { AlarmTransition } = anfang.alarm.v1;

let h: Harness;

beforeAll(async () => {
  h = await startHarness('alarms-escalation', {
    ALARM_ACK_HIGH_SECONDS: '1',
    ALARM_ESCALATION_INTERVAL_MS: '100',
    ALARM_MAX_ESCALATION_LEVEL: '2',
  });
  await h.startReplica();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function raisedIn(zoneId: string) {
  return waitFor(
    async () => {
      const { alarms } = await h.client.listAlarms({ compoundId: h.compoundId }, { metadata: h.manager });
      return alarms?.find((alarm) => alarm.zoneId === zoneId);
    },
    { timeoutMs: 30_000 },
  );
}

it('escalates an unacknowledged alarm up the chain once per missed deadline, and stops at the last level', async () => {
  const sensor = randomUUID();
  const zoneId = await createWall(h, '东侧围墙', [sensor]);
  await h.client.setDutyRule(
    {
      rule: {
        compoundId: h.compoundId,
        teamId: 'night-shift',
        escalationTeamIds: ['duty-manager', 'security-chief'],
      },
    },
    { metadata: h.manager },
  );
  await h.perimeterTrigger({ deviceId: sensor });
  const { alarmId } = await raisedIn(zoneId);

  const alarm = await waitFor(
    async () => {
      const { alarm: a } = await h.client.getAlarm({ alarmId }, { metadata: h.manager });
      // At the last level the deadline no longer runs: nothing more can happen to it.
      return a?.escalationLevel === 2 && !a.acknowledgeDeadline ? a : undefined;
    },
    { timeoutMs: 30_000, message: 'the alarm did not reach escalation level 2' },
  );
  expect(alarm.assigneeTeamId).toBe('security-chief');
  const escalations = alarm.history!.filter(
    (e) => e.transition === AlarmTransition.ALARM_TRANSITION_ESCALATED,
  );
  expect(escalations.map((e) => [e.escalationLevel, e.assigneeTeamId, e.actor])).toEqual([
    [1, 'duty-manager', 'system'],
    [2, 'security-chief', 'system'],
  ]);
  const published = await waitFor(() => {
    const of = h.alarmEvents.filter(
      (e) => e.alarmId === alarmId && e.transition === AlarmTransition.ALARM_TRANSITION_ESCALATED,
    );
    return of.length === 2 ? of : undefined;
  });
  expect(published.map((e) => e.escalationLevel)).toEqual([1, 2]);

  // Still unacknowledged: acknowledging it late is allowed and recorded.
  const { alarm: acknowledged } = await h.client.acknowledgeAlarm({ alarmId }, { metadata: h.guard });
  expect(acknowledged!.history!.at(-1)).toMatchObject({
    transition: AlarmTransition.ALARM_TRANSITION_ACKNOWLEDGED,
    escalationLevel: 2,
  });
});

it('stops escalating an alarm once it is acknowledged', async () => {
  const [handled, ignored] = [randomUUID(), randomUUID()];
  const handledZone = await createWall(h, '西侧围墙', [handled]);
  const ignoredZone = await createWall(h, '北侧围墙', [ignored]);
  await h.perimeterTrigger({ deviceId: handled });
  const { alarmId } = await raisedIn(handledZone);
  await h.client.acknowledgeAlarm({ alarmId }, { metadata: h.guard });
  await h.perimeterTrigger({ deviceId: ignored });
  const other = await raisedIn(ignoredZone);
  // The other alarm climbing to the last level proves the job ran many passes after the
  // acknowledgement.
  await waitFor(
    async () => {
      const { alarm } = await h.client.getAlarm({ alarmId: other.alarmId }, { metadata: h.manager });
      return alarm?.escalationLevel === 2;
    },
    { timeoutMs: 30_000 },
  );
  const { alarm } = await h.client.getAlarm({ alarmId }, { metadata: h.manager });
  const transitions = alarm!.history!.map((e) => e.transition);
  const acknowledgedAt = transitions.indexOf(AlarmTransition.ALARM_TRANSITION_ACKNOWLEDGED);
  expect(acknowledgedAt).toBeGreaterThan(0);
  expect(transitions.slice(acknowledgedAt + 1)).not.toContain(AlarmTransition.ALARM_TRANSITION_ESCALATED);
});
