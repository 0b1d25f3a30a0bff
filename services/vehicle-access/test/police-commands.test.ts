/**
 * Police dispositions (布控) through Kafka: a plate disposition becomes a watchlist entry, a
 * simulated camera read of the plate raises the hit, a withdrawal removes it; each command is
 * answered on the result topic. Person dispositions are left to identity; a poison command goes
 * to the DLQ without stopping the consumer.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, dlqTopic, timestampFromDate, topics } from '@anfang/contracts';
import { createBus, type Bus, type Subscription } from '@anfang/platform/bus';
import { infraEnv, uniqueName, waitFor } from '@anfang/testing';
import { setUpCarPark, startHarness, type Harness } from './harness.ts';

const { DispositionTarget, CommandOutcome } = anfang.police.v1;
const { Priority } = anfang.common.v1;
const { BarrierDecision: D, WatchlistAction } = anfang.vehicle.v1;

let h: Harness;
let lanes: { carParkId: string; entry: string; exit: string };

const dispositionId = () => `370303000012${randomBytes(11).toString('hex').slice(0, 21)}`;

beforeAll(async () => {
  h = await startHarness('police');
  lanes = await setUpCarPark(h);
});

afterAll(async () => {
  await h?.close();
});

describe('police dispositions', () => {
  it('lists a plate from a disposition, raises a silent hit on a camera read, and withdraws it', async () => {
    const id = dispositionId();
    const commandId = randomUUID();
    await h.publishPoliceCommand({
      commandId,
      platformId: '37030300005030000001',
      dispositionSet: {
        dispositionId: id,
        title: '盗抢车辆',
        category: '01',
        target: DispositionTarget.DISPOSITION_TARGET_PLATE,
        targetFeature: '鲁 C 8A888',
        priority: Priority.PRIORITY_HIGH,
        validity: { endTime: timestampFromDate(new Date(Date.now() + 86_400_000)) },
        reason: '涉案车辆',
      },
    });
    const applied = await waitFor(() => h.results.find((r) => r.commandId === commandId), {
      timeoutMs: 30_000,
    });
    expect(applied).toMatchObject({ dispositionId: id, outcome: CommandOutcome.COMMAND_OUTCOME_APPLIED });
    expect(applied.watchlistEntryId).toBeTruthy();

    const { entries } = await h.client.listWatchlistEntries(
      { plateNumber: '鲁C8A888' },
      { metadata: await h.as({ role: 'police', compounds: 'all' }) },
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      entryId: applied.watchlistEntryId,
      dispositionId: id,
      reason: '盗抢车辆: 涉案车辆',
      createdBy: 'police-upload',
      action: WatchlistAction.WATCHLIST_ACTION_ALARM_SILENTLY,
    });

    const readId = await h.read({ deviceId: lanes.entry, plate: '鲁C8A888' });
    const hit = await waitFor(() => h.hits.find((x) => x.sourceEventId === readId), { timeoutMs: 30_000 });
    expect(hit).toMatchObject({
      entryId: applied.watchlistEntryId,
      dispositionId: id,
      plateNumber: '鲁C8A888',
      priority: Priority.PRIORITY_HIGH,
      action: WatchlistAction.WATCHLIST_ACTION_ALARM_SILENTLY,
    });
    expect(hit.device?.deviceId).toBe(lanes.entry);
    // Silent: the unknown vehicle is treated as any other (held for the guard, not for the alarm).
    expect((await h.passageOf(readId)).decision).toBe(D.BARRIER_DECISION_HOLD);

    const withdrawId = randomUUID();
    await h.publishPoliceCommand({
      commandId: withdrawId,
      dispositionWithdrawn: { dispositionId: id, reason: '已破案' },
    });
    expect(
      await waitFor(() => h.results.find((r) => r.commandId === withdrawId), { timeoutMs: 30_000 }),
    ).toMatchObject({
      outcome: CommandOutcome.COMMAND_OUTCOME_APPLIED,
      watchlistEntryId: applied.watchlistEntryId,
    });
    const after = await h.read({ deviceId: lanes.entry, plate: '鲁C8A888' });
    await h.passageOf(after);
    expect(h.hits.some((x) => x.sourceEventId === after)).toBe(false);
  });

  it('rejects a disposition with an invalid plate or validity, with the reason', async () => {
    const commandId = randomUUID();
    await h.publishPoliceCommand({
      commandId,
      dispositionSet: {
        dispositionId: dispositionId(),
        target: DispositionTarget.DISPOSITION_TARGET_PLATE,
        targetFeature: 'ABC123',
      },
    });
    expect(
      await waitFor(() => h.results.find((r) => r.commandId === commandId), { timeoutMs: 30_000 }),
    ).toMatchObject({
      outcome: CommandOutcome.COMMAND_OUTCOME_REJECTED,
      detail: 'invalid plate: plate ABC123 does not start with a province abbreviation',
    });
    const reversed = randomUUID();
    await h.publishPoliceCommand({
      commandId: reversed,
      dispositionSet: {
        dispositionId: dispositionId(),
        target: DispositionTarget.DISPOSITION_TARGET_PLATE,
        targetFeature: '鲁C12345',
        validity: {
          startTime: timestampFromDate(new Date(Date.now() + 86_400_000)),
          endTime: timestampFromDate(new Date()),
        },
      },
    });
    expect(
      await waitFor(() => h.results.find((r) => r.commandId === reversed), { timeoutMs: 30_000 }),
    ).toMatchObject({
      outcome: CommandOutcome.COMMAND_OUTCOME_REJECTED,
      detail: 'validity ends before it starts',
    });
  });

  it('leaves person dispositions to identity, and routes a command without a command to the DLQ', async () => {
    const infra = infraEnv();
    const bus: Bus = await createBus({
      kind: 'kafka',
      brokers: infra.kafkaBrokers,
      clientId: 'police-dlq-test',
    });
    const dead: string[] = [];
    const dlq: Subscription = await bus.subscribe({
      group: uniqueName('police-dlq-watch'),
      topics: [dlqTopic(topics.policeCommand.name)],
      handler: async (message) => {
        if (message.value) dead.push(topics.policeCommand.payload.decode(message.value).commandId);
      },
    });
    try {
      const person = randomUUID();
      await h.publishPoliceCommand({
        commandId: person,
        dispositionSet: {
          dispositionId: dispositionId(),
          target: DispositionTarget.DISPOSITION_TARGET_PERSON_ID_NUMBER,
          targetFeature: '370303199001011234',
        },
      });
      const poison = randomUUID();
      await h.publishPoliceCommand({ commandId: poison });
      await waitFor(() => dead.includes(poison), { timeoutMs: 30_000 });

      // The consumer goes on: a later command is applied, and the person one was never answered.
      const later = randomUUID();
      await h.publishPoliceCommand({
        commandId: later,
        dispositionSet: {
          dispositionId: dispositionId(),
          target: DispositionTarget.DISPOSITION_TARGET_PLATE,
          targetFeature: '京A12345',
        },
      });
      await waitFor(() => h.results.find((r) => r.commandId === later), { timeoutMs: 30_000 });
      expect(h.results.some((r) => r.commandId === person)).toBe(false);
    } finally {
      await dlq.close();
      await bus.close();
    }
  });
});
