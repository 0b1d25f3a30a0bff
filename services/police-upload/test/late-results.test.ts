/**
 * A disposition answered "accepted, being applied" (the result wait is 0 here, so every answer
 * is) gets its result pushed later as a DispositionNotification with the new DispositionStatus,
 * also across a restart of police-upload; GET /VIID/Dispositions answers the same status in the
 * standard's shape. Other engineers' vehicle-access instances on the shared Kafka may answer
 * the command too: the first result recorded wins, and the test checks the push against it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { COMMAND_KIND, commandId, validateDispositionNotification } from '@anfang/gat1400';
import { dispositionBody } from '@anfang/gat1400-peer';
import { consume, createEventPublisher, type Subscription } from '@anfang/platform/bus';
import { uniqueName, waitFor } from '@anfang/testing';
import { PLATFORM_ID, startHarness, type Harness } from './harness.ts';

let h: Harness;
let watcher: Subscription;
const commands: anfang.police.v1.PoliceCommand[] = [];

beforeAll(async () => {
  h = await startHarness('police-upload-late', { extra: { POLICE_UPLOAD_COMMAND_RESULT_WAIT_MS: '0' } });
  watcher = await consume(h.bus, {
    group: uniqueName('police-commands-late'),
    topics: [topics.policeCommand],
    handler: async (event) => {
      if (event.meta.producer === h.serviceName)
        commands.push(event.payload as anfang.police.v1.PoliceCommand);
    },
  });
});
afterAll(async () => {
  await watcher?.close();
  await h?.close();
});

const lower = () => `http://127.0.0.1:${h.service().ports.http}/VIID`;
const credentials = () => ({ username: PLATFORM_ID, password: h.password });
const get = (path: string, password = h.password) =>
  h.peer.command(lower(), path, undefined, { username: PLATFORM_ID, password }, 'GET');

describe('late command results and GET /VIID/Dispositions', () => {
  it('a result after the answer (and after a restart) is pushed as the status; GET shows it', async () => {
    const late = commandId(
      '370303000000',
      COMMAND_KIND.DISPOSITION,
      new Date(),
      Math.floor(Math.random() * 1e5),
    );
    const plate = '鲁C7LA7E';
    const r = await h.peer.command(
      lower(),
      '/Dispositions',
      dispositionBody({
        DispositionID: late,
        Title: '迟到结果',
        TargetFeature: plate,
        PriorityLevel: 1,
        OperateType: 0,
        ReceiveAddr: `${h.peer.url}/VIID/DispositionNotifications`,
      }),
      credentials(),
    );
    expect(r.body).toMatchObject({
      ResponseStatusListObject: {
        ResponseStatusObject: [{ Id: late, StatusCode: 0, StatusString: 'accepted, being applied' }],
      },
    });
    const command = await waitFor(() => commands.find((c) => c.dispositionSet?.dispositionId === late), {
      timeoutMs: 15_000,
    });
    // The answered-pending mark is in Postgres: a restart in between loses nothing.
    await h.restartService();
    const reason = 'the compound has no barrier camera for this plate';
    await createEventPublisher({ bus: h.bus, producer: 'vehicle-access' }).publish(
      topics.policeCommandResult,
      {
        commandId: command.commandId,
        dispositionId: late,
        outcome: anfang.police.v1.CommandOutcome.COMMAND_OUTCOME_REJECTED,
        detail: reason,
      },
      {},
    );
    const statusOf = () =>
      h.peer
        .received('dispositionNotifications')
        .filter((n) => n.object.DispositionID === late && n.object.DispositionStatus !== undefined);
    await h.peer.waitFor(() => statusOf().length > 0, 20_000, 'the late status');
    const recorded = await h.sql.query<{ outcome: string; detail: string }>(
      `SELECT outcome, detail FROM police_command WHERE command_id = $1`,
      [command.commandId],
    );
    const expected =
      recorded.rows[0]?.outcome === 'rejected'
        ? { DispositionStatus: '9', Reason: recorded.rows[0].detail }
        : { DispositionStatus: '0' };
    expect(recorded.rows[0]?.outcome).toMatch(/^(applied|rejected)$/);
    const notification = statusOf()[0]!.object;
    expect(validateDispositionNotification(notification)).toEqual([]);
    expect(notification).toMatchObject({ ...expected, Title: '迟到结果' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(statusOf()).toHaveLength(1);

    const one = await get(`/Dispositions/${late}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      DispositionObject: {
        DispositionID: late,
        TargetFeature: plate,
        Title: '迟到结果',
        PriorityLevel: 1,
        OperateType: 0,
        DispositionStatus: expected.DispositionStatus,
      },
    });
    const ids = async (query: string): Promise<string[]> => {
      const list = await get(`/Dispositions?${query}`);
      expect(list.status).toBe(200);
      return (
        list.body as { DispositionListObject: { DispositionObject: { DispositionID: string }[] } }
      ).DispositionListObject.DispositionObject.map((d) => d.DispositionID);
    };
    expect(
      await ids(encodeURIComponent(`(DispositionObject.DispositionStatus=${expected.DispositionStatus})`)),
    ).toEqual([late]);
    expect(await ids(`TargetFeature=${encodeURIComponent(plate)}&RecordStartNo=1&PageRecordNum=5`)).toEqual([
      late,
    ]);
    expect(await ids('DispositionStatus=1')).toEqual([]);

    const withdraw = await h.peer.command(
      lower(),
      `/Dispositions/${late}`,
      { DispositionObject: { DispositionID: late, OperateType: 1 } },
      credentials(),
      'PUT',
    );
    expect(withdraw.status).toBe(200);
    expect(await ids('(DispositionObject.DispositionStatus=1)')).toEqual([late]);
    expect((await get(`/Dispositions/${late}`)).body).toMatchObject({
      DispositionObject: { OperateType: 1, DispositionStatus: '1', DispositionRemoveTime: /^\d{14}$/ },
    });
  });

  it('refuses unknown ids, unknown conditions and callers without the platform credentials', async () => {
    const unknown = await get('/Dispositions/370303000000012000010100000000001');
    expect(unknown.status).toBe(404);
    const bad = await get('/Dispositions?(Colour=red)');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('condition Colour is not supported');
    expect((await get('/Dispositions?PageRecordNum=0')).status).toBe(400);
    expect((await get('/Dispositions', 'wrong')).status).toBe(401);
  });
});
