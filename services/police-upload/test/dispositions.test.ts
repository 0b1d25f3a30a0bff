import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { anfang } from '@anfang/contracts';
import { topics } from '@anfang/contracts';
import { COMMAND_KIND, commandId, validateDispositionNotification } from '@anfang/gat1400';
import { dispositionBody } from '@anfang/gat1400-peer';
import { anfang as contracts } from '@anfang/contracts';
import { consume, createEventPublisher, type Subscription } from '@anfang/platform/bus';
import { uniqueName, waitFor } from '@anfang/testing';
import { PLATFORM_ID, startHarness, type Harness } from './harness.ts';

let h: Harness;
let watcher: Subscription;
const commands: anfang.police.v1.PoliceCommand[] = [];
/** Plates the vehicle-access stand-in refuses, with its reason. */
const refuse = new Map<string, string>();
/** Hits only: a late command result is a DispositionNotification too (with a status, no hit). */
const hits = () => h.peer.received('dispositionNotifications').filter((n) => n.object.CntObjectID);

beforeAll(async () => {
  h = await startHarness('police-upload-dispositions');
  watcher = await consume(h.bus, {
    group: uniqueName('police-commands-watch'),
    topics: [topics.policeCommand],
    handler: async (event) => {
      if (event.meta.producer !== h.serviceName) return;
      const command = event.payload as anfang.police.v1.PoliceCommand;
      commands.push(command);
      const reason = refuse.get(command.dispositionSet?.targetFeature ?? '');
      if (reason)
        await createEventPublisher({ bus: h.bus, producer: 'vehicle-access' }).publish(
          topics.policeCommandResult,
          {
            commandId: command.commandId,
            dispositionId: command.dispositionSet!.dispositionId,
            outcome: contracts.police.v1.CommandOutcome.COMMAND_OUTCOME_REJECTED,
            detail: reason,
          },
          {},
        );
    },
  });
});
afterAll(async () => {
  await watcher?.close();
  await h?.close();
});

const lower = () => `http://127.0.0.1:${h.service().ports.http}/VIID`;
const credentials = () => ({ username: PLATFORM_ID, password: h.password });

describe('dispositions from the upper platform', () => {
  const dispositionId = commandId(
    '370303000000',
    COMMAND_KIND.DISPOSITION,
    new Date(),
    Math.floor(Math.random() * 1e5),
  );
  const plate = '鲁C9X8Y7';

  it('refuses a caller without the platform credentials', async () => {
    const r = await h.peer.command(
      lower(),
      '/Dispositions',
      dispositionBody({ DispositionID: dispositionId }),
      {
        username: PLATFORM_ID,
        password: 'wrong',
      },
    );
    expect(r.status).toBe(401);
  });

  it('becomes a police command; its hits are pushed to ReceiveAddr within 2 s; withdrawal stops them', async () => {
    const r = await h.peer.command(
      lower(),
      '/Dispositions',
      dispositionBody({
        DispositionID: dispositionId,
        Title: '涉案车辆',
        TargetFeature: plate,
        PriorityLevel: 1,
        OperateType: 0,
        ReceiveAddr: `${h.peer.url}/VIID/DispositionNotifications`,
      }),
      credentials(),
    );
    expect(r.status).toBe(200);
    const command = await waitFor(
      () => commands.find((c) => c.dispositionSet?.dispositionId === dispositionId),
      {
        timeoutMs: 15_000,
      },
    );
    expect(command.dispositionSet).toMatchObject({ targetFeature: plate, target: 1 });
    const recorded = await h.sql.query('SELECT kind FROM police_command WHERE disposition_id = $1', [
      dispositionId,
    ]);
    expect(recorded.rows).toEqual([{ kind: 'disposition.set' }]);

    const sent = Date.now();
    await h.hit(dispositionId, plate);
    await h.peer.waitFor(() => hits().length === 1, 10_000, 'the hit');
    const notification = hits()[0]!;
    expect(notification.receivedAt - sent).toBeLessThanOrEqual(2_000);
    expect(validateDispositionNotification(notification.object)).toEqual([]);
    expect(notification.object).toMatchObject({
      DispositionID: dispositionId,
      MotorVehicleObject: { PlateNo: plate },
    });

    const withdraw = await h.peer.command(
      lower(),
      `/Dispositions/${dispositionId}`,
      { DispositionObject: { DispositionID: dispositionId, OperateType: 1 } },
      credentials(),
      'PUT',
    );
    expect(withdraw.status).toBe(200);
    await waitFor(() => commands.find((c) => c.dispositionWithdrawn?.dispositionId === dispositionId), {
      timeoutMs: 15_000,
    });
    await h.hit(dispositionId, plate);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(hits()).toHaveLength(1);
  });

  it('a disposition refused downstream is answered with the reason (ResponseStatus) and recorded', async () => {
    const refused = commandId(
      '370303000000',
      COMMAND_KIND.DISPOSITION,
      new Date(),
      Math.floor(Math.random() * 1e5),
    );
    const plate = '鲁C0REF9';
    refuse.set(plate, 'the plate is on the exemption list of this compound');
    const r = await h.peer.command(
      lower(),
      '/Dispositions',
      dispositionBody({
        DispositionID: refused,
        TargetFeature: plate,
        OperateType: 0,
        ReceiveAddr: `${h.peer.url}/VIID/DispositionNotifications`,
      }),
      credentials(),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      ResponseStatusListObject: {
        ResponseStatusObject: [
          { Id: refused, StatusCode: 4, StatusString: 'the plate is on the exemption list of this compound' },
        ],
      },
    });
    const recorded = await h.sql.query(
      'SELECT outcome, detail FROM police_command WHERE disposition_id = $1',
      [refused],
    );
    expect(recorded.rows).toEqual([
      { outcome: 'rejected', detail: 'the plate is on the exemption list of this compound' },
    ]);
  });
});
