/**
 * `/v1/live` over real Kafka: a viewer gets the alarm of a compound in scope and a viewer of
 * another compound does not (an auditor of the compound does); heartbeats keep the stream alive; a reconnect with Last-Event-ID
 * gets what it missed.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { createBus, createEventPublisher, type Bus } from '@anfang/platform/bus';
import { infraEnv, uniqueName, waitFor } from '@anfang/testing';
import { startHarness, type Harness } from './harness.ts';

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

interface Stream {
  readonly events: SseEvent[];
  readonly comments: string[];
  close(): void;
}

async function open(h: Harness, token: string, query = '', lastEventId?: string): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(`${h.url}/v1/live${query}`, {
    headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const events: SseEvent[] = [];
  const comments: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            const [field, ...rest] = line.split(': ');
            if (field === 'id' || field === 'event' || field === 'data') event[field] = rest.join(': ');
          }
          if (event.event) events.push(event);
        }
      }
    } catch {
      // aborted
    }
  })();
  return { events, comments, close: () => controller.abort() };
}

let h: Harness;
let bus: Bus;
const streams: Stream[] = [];

beforeAll(async () => {
  h = await startHarness('gateway-live');
  bus = await createBus({
    kind: 'kafka',
    brokers: infraEnv().kafkaBrokers,
    clientId: uniqueName('live-test'),
  });
}, 90_000);

afterAll(async () => {
  for (const s of streams) s.close();
  await bus?.close();
  await h?.close();
});

describe('live updates', () => {
  it('streams an alarm to a viewer in scope and not to one out of scope, with heartbeats', async () => {
    const guardA = (await h.user('guard', [h.compoundA])).token;
    const managerB = (await h.user('community_manager', [h.compoundB])).token;
    const auditorA = (await h.user('auditor', [h.compoundA])).token;
    const admin = await open(h, h.adminToken, '?types=level');
    const a = await open(h, guardA);
    const b = await open(h, managerB);
    const audit = await open(h, auditorA, `?types=alarm&compound_id=${h.compoundA}`);
    streams.push(admin, a, b, audit);

    // The replica's consumer starts at the latest offset: wait until it is assigned and reading.
    const compliance = createEventPublisher({ bus, producer: 'compliance-scoring' });
    await waitFor(
      async () => {
        await compliance.publish(
          topics.complianceLevelChanged,
          {
            compoundId: h.compoundA,
            level: anfang.compliance.v1.ComplianceLevel.COMPLIANCE_LEVEL_COMPLIANT,
          },
          { compoundId: h.compoundA },
        );
        await sleep(500);
        return admin.events.some((e) => e.event === 'level');
      },
      { timeoutMs: 30_000, message: 'the live consumer never received an event' },
    );

    const sensor = randomUUID();
    const zone = await h.request('POST', '/v1/alarm/zones', {
      token: h.adminToken,
      body: {
        zone: {
          compoundId: h.compoundA,
          name: '北侧围墙',
          kind: 'ZONE_KIND_WALL',
          sensorDeviceIds: [sensor],
        },
      },
    });
    expect(zone.status).toBe(200);
    await h.perimeterTrigger(h.compoundA, sensor);
    const alarm = await waitFor(() => a.events.find((e) => e.event === 'alarm'), { timeoutMs: 20_000 });
    const data = JSON.parse(alarm.data!) as {
      compoundId: string;
      payload: { alarmId: string; state: string };
    };
    expect(data.compoundId).toBe(h.compoundA);
    expect(data.payload.state).toBe('ALARM_STATE_NEW');
    // An auditor follows the feed of its scope.
    await waitFor(() => audit.events.find((e) => e.id === alarm.id), { timeoutMs: 20_000 });
    // The level change of compound A reached A's guard too, never B's manager.
    await sleep(1500);
    expect(b.events.filter((e) => e.event === 'alarm' || e.event === 'level')).toEqual([]);
    expect(a.comments.some((c) => c.startsWith(': heartbeat'))).toBe(true);
    expect(b.comments.some((c) => c.startsWith(': heartbeat'))).toBe(true);

    // Reconnecting with the id of the first event replays what came after it.
    const first = a.events[0]!;
    const again = await open(h, guardA, '', first.id);
    streams.push(again);
    await waitFor(() => again.events.some((e) => e.id === alarm.id));
    expect(again.events.map((e) => e.id)).not.toContain(first.id);
  }, 90_000);

  it('refuses a compound outside the viewer’s scope and roles with nothing to watch', async () => {
    const managerB = (await h.user('community_manager', [h.compoundB])).token;
    const outside = await fetch(`${h.url}/v1/live?compound_id=${h.compoundA}`, {
      headers: { authorization: `Bearer ${managerB}` },
    });
    expect([outside.status, await outside.text()]).toEqual([403, expect.stringContaining('OUT_OF_SCOPE')]);
    const auditorB = (await h.user('auditor', [h.compoundB])).token;
    const outsideAudit = await fetch(`${h.url}/v1/live?compound_id=${h.compoundA}`, {
      headers: { authorization: `Bearer ${auditorB}` },
    });
    expect(outsideAudit.status).toBe(403);
    const resident = (await h.user('resident', [h.compoundA])).token;
    expect(
      (await fetch(`${h.url}/v1/live`, { headers: { authorization: `Bearer ${resident}` } })).status,
    ).toBe(403);
    expect((await fetch(`${h.url}/v1/live`)).status).toBe(401);
  });
});
