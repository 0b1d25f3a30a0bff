/**
 * Commands over the real infrastructure: a DeviceCommand on anfang.device.command.v1 is consumed
 * and queued, delivered in the next heartbeat response, acknowledged by the device, and each step
 * is a status event on anfang.device.command-status.v1.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang, topics } from '@anfang/contracts';
import { createEventPublisher } from '@anfang/platform/bus';
import { waitFor } from '@anfang/testing';
import type { Pool } from '@anfang/platform/pg';
import { createCommandStore } from '../src/store/commands.ts';
import { PRODUCER, signedFetch, startHarness, type Harness } from './pipeline-harness.ts';

const C = anfang.device.v1.CommandStatus;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ watch: [topics.deviceCommandStatus] });
}, 90_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

describe('device commands', () => {
  it('consumed → delivered in the heartbeat response → acknowledged, with status events', async () => {
    const { device, secret } = await h.addDevice();
    const commandId = randomUUID();
    await createEventPublisher({ bus: h.bus, producer: 'identity' }).publish(topics.deviceCommand, {
      commandId,
      deviceId: device.deviceId,
      openDoor: { doorNo: 1, holdSeconds: 5 },
      requestedBy: 'guard-1',
      reason: 'visitor',
    });
    await waitFor(async () => (await h.core.commands.get(commandId))?.status === 'queued', {
      timeoutMs: 20_000,
    });

    const hb = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/heartbeat', '{}');
    expect(hb.status).toBe(200);
    const body = (await hb.json()) as { commands: { commandId: string; command: Record<string, unknown> }[] };
    expect(body.commands).toHaveLength(1);
    expect(body.commands[0]!.commandId).toBe(commandId);
    expect(body.commands[0]!.command).toMatchObject({
      command: 'openDoor',
      openDoor: { doorNo: 1, holdSeconds: 5 },
    });

    const ack = await signedFetch(
      h.baseUrl,
      device,
      secret,
      'POST',
      `/api/v1/device/commands/${commandId}/ack`,
      JSON.stringify({ result: 'succeeded' }),
    );
    expect(ack.status).toBe(200);
    expect(await ack.json()).toEqual({ commandId, status: 'succeeded' });

    const statuses = await waitFor(() => {
      const s = h.watcher
        .of(topics.deviceCommandStatus, device.deviceId)
        // Test files run in parallel, each service with its own registry on the shared topics: a
        // service of another file also consumes the command and rejects it (it does not know the
        // device). Those are not this harness's answers.
        .filter(
          (m) =>
            !(
              m.payload.status === C.COMMAND_STATUS_REJECTED &&
              String(m.payload.detail).startsWith('unknown device')
            ),
        )
        .map((m) => m.payload.status as number);
      return s.length >= 3 ? s : undefined;
    });
    expect(statuses).toEqual([
      C.COMMAND_STATUS_QUEUED,
      C.COMMAND_STATUS_DELIVERED,
      C.COMMAND_STATUS_SUCCEEDED,
    ]);

    // Acknowledged: no longer delivered; an unknown command id is a 404.
    const next = await signedFetch(h.baseUrl, device, secret, 'POST', '/api/v1/device/heartbeat', '{}');
    expect(((await next.json()) as { commands: unknown[] }).commands).toEqual([]);
    const unknown = await signedFetch(
      h.baseUrl,
      device,
      secret,
      'POST',
      `/api/v1/device/commands/${randomUUID()}/ack`,
      JSON.stringify({ result: 'failed' }),
    );
    expect(unknown.status).toBe(404);
  }, 60_000);

  it('a command for an unknown device is rejected with a status event', async () => {
    const commandId = randomUUID();
    const deviceId = `ghost-${randomUUID()}`;
    await createEventPublisher({ bus: h.bus, producer: 'identity' }).publish(topics.deviceCommand, {
      commandId,
      deviceId,
      openBarrier: { lane: 1 },
    });
    const rejected = await waitFor(() => h.watcher.of(topics.deviceCommandStatus, deviceId)[0], {
      timeoutMs: 20_000,
    });
    expect(rejected.payload.status).toBe(C.COMMAND_STATUS_REJECTED);
  }, 40_000);

  it("heartbeats arriving together share one 'anything waiting?' read, and each gets its own commands", async () => {
    // The pool's own queries counted (transactions take a client instead, and are not counted).
    const probes: string[] = [];
    const pool = new Proxy(h.pool, {
      get(target, key) {
        if (key === 'query')
          return (text: string, values?: unknown[]) => {
            if (/FROM device_commands/.test(text)) probes.push(text);
            return target.query(text, values);
          };
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Pool;
    const store = createCommandStore({ pool, producer: PRODUCER });
    const devices = Array.from({ length: 50 }, () => randomUUID());
    const commandId = randomUUID();
    await store.enqueue({
      commandId,
      deviceId: devices[7]!,
      openDoor: { doorNo: 2 },
      requestedBy: 'guard-1',
    });

    const delivered = await Promise.all(devices.map((id) => store.deliver(id)));

    expect(delivered.map((d) => d.map((c) => c.commandId))).toEqual(
      devices.map((_, i) => (i === 7 ? [commandId] : [])),
    );
    // The first heartbeat's read runs at once, the other 49 wait for it and share the next.
    expect(probes.length).toBeLessThanOrEqual(2);
    expect((await store.get(commandId))?.status).toBe('delivered');
  });
});
