import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_KIND, commandId, validateSubscribeNotification } from '@anfang/gat1400';
import { subscribeBody } from '@anfang/gat1400-peer';
import { waitFor } from '@anfang/testing';
import { LOWER_ID, PLATFORM_ID, startHarness, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('police-upload-subscriptions');
});
afterAll(async () => h?.close());

const lower = () => `http://127.0.0.1:${h.service().ports.http}/VIID`;
const credentials = () => ({ username: PLATFORM_ID, password: h.password });
const newId = () =>
  commandId('370303000000', COMMAND_KIND.SUBSCRIPTION, new Date(), Math.floor(Math.random() * 1e5));

describe('subscriptions from the upper platform', () => {
  it('pushes matching faces to ReceiveAddr until cancelled; other devices and kinds are not pushed', async () => {
    const all = newId();
    const elsewhere = newId();
    const r = await h.peer.command(
      lower(),
      '/Subscribes',
      subscribeBody(
        {
          SubscribeID: all,
          Title: '全部人脸',
          SubscribeDetail: '12,',
          ResourceURI: LOWER_ID,
          ResourceClass: 4,
          ReceiveAddr: `${h.peer.url}/VIID/SubscribeNotifications`,
          ReportInterval: 0,
          OperateType: 0,
        },
        {
          SubscribeID: elsewhere,
          SubscribeDetail: '12',
          ResourceURI: '37030300001190009999',
          ReceiveAddr: `${h.peer.url}/VIID/SubscribeNotifications`,
          OperateType: 0,
        },
      ),
      credentials(),
    );
    expect(r.status).toBe(200);
    await h.face();
    await h.passage();
    await h.peer.waitFor(
      () => h.peer.received('subscribeNotifications').length >= 1,
      10_000,
      'a notification',
    );
    // The passage's vehicle was not subscribed, and the other subscription's device saw nothing.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const received = h.peer.received('subscribeNotifications');
    expect(received).toHaveLength(1);
    expect(validateSubscribeNotification(received[0]!.object)).toEqual([]);
    expect(received[0]!.object).toMatchObject({ SubscribeID: all, ExecuteOperation: 1 });

    const cancel = await h.peer.command(
      lower(),
      `/Subscribes/${all}`,
      { SubscribeObject: { SubscribeID: all, OperateType: 1 } },
      credentials(),
      'PUT',
    );
    expect(cancel.status).toBe(200);
    await h.face();
    await h.peer.waitFor(() => h.peer.received('faces').length >= 2, 10_000, 'the second face');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(h.peer.received('subscribeNotifications')).toHaveLength(1);
    const recorded = await waitFor(async () => {
      const rows = await h.sql.query<{ kind: string }>(
        'SELECT kind FROM police_command ORDER BY received_at',
      );
      return rows.rowCount === 3 ? rows.rows : undefined;
    });
    expect(recorded.map((x) => x.kind).sort()).toEqual([
      'subscription.cancel',
      'subscription.create',
      'subscription.create',
    ]);
  });
});
