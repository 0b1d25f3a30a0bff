/**
 * The simulator: builds the compounds and their devices, registers them, then plays traffic
 * through each device's own protocol until stopped. Bounded: a fixed cap of requests in flight
 * (what does not fit is dropped and counted, never queued without limit), small per-device
 * backlogs, one socket pool.
 */
import { join } from 'node:path';
import {
  buildCompounds,
  buildDevices,
  randomPlate,
  readCompoundCsv,
  resident,
  residentPlate,
  type Compound,
  type DeviceKind,
  type IotKind,
  type ProtocolName,
  type SimDevice,
} from './catalog.ts';
import type { AnalyticsKind, PlateColour, SimEvent, VehicleColour, VehicleKind } from './events.ts';
import * as gat from './protocols/gat1400.ts';
import * as generic from './protocols/generic.ts';
import * as isapi from './protocols/isapi.ts';
import { startIsapiDevice, type IsapiDevice } from './protocols/isapi-device.ts';
import * as itsapi from './protocols/itsapi.ts';
import { deviceNow, type Delivery, type DeviceRuntime, type ProtocolIo } from './protocols/types.ts';
import { seededRandom, type Random } from './random.ts';
import { setupDevices } from './registry.ts';
import { activityRates, ACTIVITIES, outboundShare, simClock, type Activity } from './rhythm.ts';
import { createTransport, type Transport } from './transport.ts';

export interface SimulatorOptions {
  /** device-ingest's device listener, e.g. http://127.0.0.1:8088. */
  readonly target: string;
  /** device-ingest's gRPC address (registry), e.g. 127.0.0.1:50051. */
  readonly registry: string;
  /** The key device-ingest verifies caller tokens with (its CALLER_TOKEN_KEY). */
  readonly callerTokenKey: string;
  /** Compounds to simulate: the listed ones first, then generated ones. Default 37. */
  readonly compounds?: number;
  /** Events per second, averaged over the simulated day. Default 5. */
  readonly rate?: number;
  /** Simulated seconds per real second (rhythm only). Default 1. */
  readonly timeScale?: number;
  /** Heartbeat / keepalive interval of every device, s. Default 60. */
  readonly heartbeatSeconds?: number;
  /** Share of devices that drop offline per real hour (for 2–15 min). Default 0.02. */
  readonly offlinePerHour?: number;
  /** Requests in flight at most. Default 64. */
  readonly maxInFlight?: number;
  /** Seconds between stats lines; 0 for none. Default 30. */
  readonly statsSeconds?: number;
  readonly seed?: string;
  /** The district's compound list. Default: tools/simulator/data/zhangdian-old-communities.csv (from the policy). */
  readonly csvPath?: string;
  /** Where device secrets are kept. Default .cache/simulator/state.json under the repo. */
  readonly statePath?: string;
  readonly rotateSecrets?: boolean;
  /**
   * Serve commands on every ISAPI device: each listens at its registered (loopback) address on
   * this port, where device-ingest pushes commands (its ISAPI_COMMAND_PORT). Unset: they do not.
   */
  readonly isapiCommandPort?: number;
  readonly log?: (line: string) => void;
}

export interface ProtocolStats {
  sent: number;
  accepted: number;
  rejected: number;
  errors: number;
  heartbeats: number;
}

export interface SimulatorStats {
  readonly startedAt: string;
  readonly compounds: number;
  readonly devices: number;
  readonly online: number;
  readonly simulatedHour: number;
  readonly inFlight: number;
  /** Events not sent because maxInFlight requests were already open. */
  readonly dropped: number;
  readonly byProtocol: Record<ProtocolName, ProtocolStats>;
  readonly byEvent: Record<string, number>;
  readonly lastRejections: readonly string[];
  readonly sourceAddresses: boolean;
  /** Commands the ISAPI devices carried out (door opened, clock set, …), by `METHOD path`. */
  readonly commands: Record<string, number>;
}

export interface RunningSimulator {
  stats(): SimulatorStats;
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '../../..');

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const log = options.log ?? ((line: string) => console.log(`[simulator] ${line}`));
  const seed = options.seed ?? 'anfang';
  const rate = options.rate ?? 5;
  const heartbeatMs = (options.heartbeatSeconds ?? 60) * 1000;
  const maxInFlight = options.maxInFlight ?? 64;
  const listed = readCompoundCsv(
    options.csvPath ?? join(import.meta.dirname, '../data/zhangdian-old-communities.csv'),
  );
  const compounds = buildCompounds(listed, options.compounds ?? listed.length, seed);
  const devices = compounds.flatMap((c) => buildDevices(c, seed));
  log(`${compounds.length} compounds, ${devices.length} devices (${summary(devices)})`);

  const { secrets } = await setupDevices({
    registry: options.registry,
    callerTokenKey: options.callerTokenKey,
    statePath: options.statePath ?? join(ROOT, '.cache/simulator/state.json'),
    devices,
    rotateSecrets: options.rotateSecrets ?? false,
    log,
  });

  const random = seededRandom(`${seed}:traffic:${Date.now()}`);
  const start = Date.now();
  const clock = simClock(start, options.timeScale ?? 1);
  const transport: Transport = createTransport({
    target: new URL(options.target),
    maxSockets: Math.max(8, maxInFlight),
    timeoutMs: 10_000,
  });
  const io: ProtocolIo = { transport, now: () => Date.now() };

  const runtimes: DeviceRuntime[] = devices
    .filter((d) => secrets.has(d.deviceId))
    .map((device) => ({
      device,
      secret: secrets.get(device.deviceId)!,
      ...initialClock(random),
      offlineUntil: 0,
      serial: Math.floor(random.next() * 1000),
      nextHeartbeatAt: start + random.next() * heartbeatMs,
      registered: false,
      digest: undefined,
      backlog: [],
    }));
  const byCompound = new Map<number, Map<DeviceKind, DeviceRuntime[]>>();
  for (const rt of runtimes) {
    const kinds = byCompound.get(rt.device.compound.seq) ?? new Map<DeviceKind, DeviceRuntime[]>();
    byCompound.set(rt.device.compound.seq, kinds);
    kinds.set(rt.device.kind, [...(kinds.get(rt.device.kind) ?? []), rt]);
  }
  const compoundWeights = compounds.map((c) => c.residents);

  const commands: Record<string, number> = {};
  const isapiDevices = options.isapiCommandPort
    ? await serveIsapiCommands(
        runtimes.filter((rt) => rt.device.protocol === 'isapi'),
        options.isapiCommandPort,
        (rt, call) => {
          const what = call.replace(/\/\d+(?=\/|$)/g, '/n');
          commands[what] = (commands[what] ?? 0) + 1;
          // The platform set the clock: the device runs on time again (and drifts anew).
          if (call === 'PUT /ISAPI/System/time') rt.skewMs = 0;
          if (call.includes('RemoteControl/door') || call.includes('barrierGate'))
            log(`${rt.device.key}: ${call} by the platform`);
        },
        log,
      )
    : [];

  const emptyStats = (): ProtocolStats => ({ sent: 0, accepted: 0, rejected: 0, errors: 0, heartbeats: 0 });
  const byProtocol: Record<ProtocolName, ProtocolStats> = {
    generic: emptyStats(),
    gat1400: emptyStats(),
    isapi: emptyStats(),
    itsapi: emptyStats(),
  };
  const byEvent: Record<string, number> = {};
  const lastRejections: string[] = [];
  let dropped = 0;
  let inFlight = 0;
  let stopping = false;
  const pending = new Set<Promise<void>>();
  /** Delayed follow-ups (sensor chatter, alarm clears), by real due time. Bounded. */
  const delayed: { at: number; event: () => SimEvent | undefined }[] = [];
  const patrolRounds = new Map<number, { next: number; guard: string }>();

  const record = (rt: DeviceRuntime, what: string, delivery: Delivery, heartbeat: boolean): void => {
    const s = byProtocol[rt.device.protocol];
    if (heartbeat) s.heartbeats += 1;
    else {
      s.accepted += delivery.accepted;
      s.rejected += delivery.rejected;
    }
    if (delivery.rejected > 0) {
      lastRejections.push(
        `${rt.device.protocol} ${what} ${rt.device.key}: ${delivery.status} ${delivery.reason ?? ''}`.slice(
          0,
          300,
        ),
      );
      if (lastRejections.length > 10) lastRejections.shift();
    }
  };

  /** Runs a request if there is room; otherwise counts it dropped. */
  const launch = (
    rt: DeviceRuntime,
    what: string,
    heartbeat: boolean,
    run: () => Promise<Delivery>,
  ): boolean => {
    if (stopping) return false;
    if (inFlight >= maxInFlight) {
      if (!heartbeat) dropped += 1;
      return false;
    }
    inFlight += 1;
    if (!heartbeat) byProtocol[rt.device.protocol].sent += 1;
    const p = run()
      .then((d) => record(rt, what, d, heartbeat))
      .catch((err: unknown) => {
        byProtocol[rt.device.protocol].errors += 1;
        lastRejections.push(
          `${rt.device.protocol} ${what} ${rt.device.key}: ${err instanceof Error ? err.message : String(err)}`.slice(
            0,
            300,
          ),
        );
        if (lastRejections.length > 10) lastRejections.shift();
      })
      .finally(() => {
        inFlight -= 1;
        pending.delete(p);
      });
    pending.add(p);
    return true;
  };

  const deliver = (rt: DeviceRuntime, event: SimEvent, retransmission = false): void => {
    byEvent[event.type] = (byEvent[event.type] ?? 0) + 1;
    if (rt.offlineUntil > 0) {
      if (rt.backlog.length < 50) rt.backlog.push(event);
      return;
    }
    launch(rt, event.type, false, () => send(rt, event, retransmission));
  };

  const send = (rt: DeviceRuntime, event: SimEvent, retransmission: boolean): Promise<Delivery> => {
    switch (rt.device.protocol) {
      case 'generic':
        return generic.sendGenericEvents(rt, io, [event]);
      case 'isapi':
        return isapi.sendIsapiEvent(rt, io, event, retransmission);
      case 'itsapi':
        return event.type === 'plate'
          ? itsapi.sendTollgate(rt, io, event)
          : Promise.resolve({ accepted: 0, rejected: 0, status: 0 });
      case 'gat1400':
        return event.type === 'faceSighting'
          ? gat.pushSighting(rt, io, event)
          : event.type === 'plate'
            ? gat.pushMotorVehicle(rt, io, event)
            : Promise.resolve({ accepted: 0, rejected: 0, status: 0 });
    }
  };

  const heartbeat = (rt: DeviceRuntime): Promise<Delivery> => {
    switch (rt.device.protocol) {
      case 'generic':
        return generic.sendGenericHeartbeat(rt, io).then(async (r) => {
          for (const command of r.commands.slice(0, 5)) await generic.acknowledgeCommand(rt, io, command);
          return r;
        });
      case 'isapi':
        return isapi.sendIsapiHeartbeat(rt, io);
      case 'itsapi':
        return itsapi.sendKeepAlive(rt, io);
      case 'gat1400':
        return gat.keepalive(rt, io).then(async (r) => {
          // A GA/T camera with a noticeably wrong clock reads the platform's time and sets its own.
          if (
            Math.abs(rt.skewMs) > 3000 &&
            random.chance(0.2) &&
            (await gat.platformTime(rt, io)) !== undefined
          )
            rt.skewMs = 0;
          return r;
        });
    }
  };

  const make = (rt: DeviceRuntime, fields: EventFields): SimEvent => {
    rt.serial += 1;
    return {
      ...fields,
      device: rt.device,
      serial: rt.serial,
      deviceTime: deviceNow(rt, Date.now()),
      seed: rt.serial * 7919 + rt.device.compound.seq,
    } as SimEvent;
  };

  const devicesOf = (compound: Compound, kind: DeviceKind): DeviceRuntime[] =>
    byCompound.get(compound.seq)?.get(kind) ?? [];
  const pickCompound = (): Compound => compounds[Math.max(0, random.weighted(compoundWeights))]!;

  const generators: Record<Activity, (hour: number) => void> = {
    resident: (hour) => {
      const compound = pickCompound();
      const person = resident(compound, random.int(0, compound.residents - 1));
      const out = random.chance(outboundShare(hour));
      const doors = devicesOf(compound, 'unitDoor');
      const useDoor = !out && doors.length > 0 && random.chance(0.45);
      const candidates = useDoor
        ? doors.filter((d) => d.device.building === person.building && d.device.unit === person.unit)
        : devicesOf(compound, 'faceGate').filter((d) => d.device.direction === (out ? 2 : 1));
      const rt = candidates.length > 0 ? random.pick(candidates) : useDoor ? random.pick(doors) : undefined;
      if (!rt) return;
      if (useDoor && rt.device.protocol === 'isapi' && random.chance(0.01)) {
        deliver(rt, make(rt, { type: 'doorAlarm', minor: random.chance(0.5) ? 27 : 28 }));
        return;
      }
      if (random.chance(0.15)) {
        const valid = !random.chance(0.03);
        deliver(
          rt,
          make(rt, { type: 'cardAccess', cardNo: valid ? person.cardNo : randomCard(random), valid }),
        );
        return;
      }
      const spoof = random.chance(0.015);
      const unknownFace = !spoof && random.chance(0.03);
      deliver(
        rt,
        make(rt, {
          type: 'faceAccess',
          personRef: spoof || unknownFace ? '' : person.employeeNo,
          personName: spoof || unknownFace ? '' : person.name,
          liveness: spoof ? 'spoof' : 'live',
          passed: !spoof && !unknownFace,
          similarity: spoof ? 0.41 : unknownFace ? 0.32 + random.next() * 0.2 : 0.86 + random.next() * 0.12,
        }),
      );
    },
    visitor: () => {
      const compound = pickCompound();
      if (random.chance(0.35)) {
        const cams = devicesOf(compound, 'plateCamera').filter((d) => d.device.direction === 1);
        if (cams.length > 0) return void plateEvent(random.pick(cams), randomPlate(random), 'none');
      }
      // Most visitors check in at the kiosk: their ID card, or the QR code a resident sent them.
      const kiosks = devicesOf(compound, 'visitorKiosk');
      if (kiosks.length > 0 && random.chance(0.6)) {
        const rt = random.pick(kiosks);
        const idCard = random.chance(0.65);
        return void deliver(
          rt,
          make(rt, {
            type: 'visitorCheckIn',
            credential: idCard ? 'id_card' : 'qr',
            value: idCard
              ? visitorIdNumber(random)
              : `VQR-${random.int(100000, 999999)}-${random.int(1000, 9999)}`,
            name: idCard ? random.pick(VISITOR_NAMES) : '',
          }),
        );
      }
      const gates = devicesOf(compound, 'faceGate').filter((d) => d.device.direction === 1);
      if (gates.length === 0) return;
      const rt = random.pick(gates);
      // Unknown to the terminal: the guard registers the visitor and opens the gate.
      deliver(
        rt,
        make(rt, {
          type: 'faceAccess',
          personRef: '',
          personName: '',
          liveness: 'live',
          passed: false,
          similarity: 0.2 + random.next() * 0.3,
        }),
      );
    },
    vehicle: (hour) => {
      const compound = pickCompound();
      const out = random.chance(outboundShare(hour));
      const cams = devicesOf(compound, 'plateCamera').filter((d) => d.device.direction === (out ? 2 : 1));
      if (cams.length === 0) return;
      const rt = random.pick(cams);
      const roll = random.next();
      if (roll < 0.8)
        plateEvent(rt, residentPlate(compound, random.int(0, Math.max(0, compound.vehicles - 1))), 'allow');
      else if (roll < 0.95) plateEvent(rt, randomPlate(random), 'none');
      else if (roll < 0.96) plateEvent(rt, randomPlate(random), 'block');
      else plateEvent(rt, '', 'none');
    },
    capture: () => {
      const cams = devicesOf(pickCompound(), 'captureCamera');
      if (cams.length === 0) return;
      const rt = random.pick(cams);
      deliver(
        rt,
        make(rt, {
          type: 'faceSighting',
          faces: random.weighted([0, 70, 22, 8]),
          withPerson: random.chance(0.3),
          gender: random.pick(['1', '2', '0'] as const),
        }),
      );
    },
    perimeter: () => {
      const sensors = devicesOf(pickCompound(), 'perimeter');
      if (sensors.length === 0) return;
      const rt = random.pick(sensors);
      const target = random.weighted([70, 8, 22]);
      const fields = {
        type: 'perimeter' as const,
        target: (['human', 'vehicle', 'other'] as const)[target]!,
        regionId: '1',
      };
      deliver(rt, make(rt, { ...fields, state: 'active' }));
      // A chattering sensor repeats itself within seconds, then clears.
      const repeats = random.chance(0.4) ? random.int(2, 6) : 0;
      let at = Date.now();
      for (let i = 0; i < repeats; i += 1) {
        at += 400 + random.next() * 2500;
        later(at, () => make(rt, { ...fields, state: 'active' }));
      }
      later(at + 3000 + random.next() * 20_000, () => make(rt, { ...fields, state: 'inactive' }));
    },
    analytics: () => {
      const cams = devicesOf(pickCompound(), 'analyticsCamera');
      if (cams.length === 0) return;
      const rt = random.pick(cams);
      const kind: AnalyticsKind = random.pick(rt.device.analytics ?? ['intrusion']);
      const fields = {
        type: 'analytics' as const,
        kind,
        target: kind === 'high_altitude_throwing' ? ('other' as const) : ('human' as const),
        regionId: kind === 'high_altitude_throwing' ? 'facade' : '1',
        confidence: Math.round((0.7 + random.next() * 0.29) * 100) / 100,
      };
      deliver(rt, make(rt, { ...fields, state: 'active' }));
      // A thrown object is one moment; loitering and intrusion clear when the person leaves.
      if (kind !== 'high_altitude_throwing')
        later(Date.now() + 10_000 + random.next() * 50_000, () => make(rt, { ...fields, state: 'inactive' }));
    },
    patrol: () => {
      const compound = pickCompound();
      const readers = devicesOf(compound, 'patrol');
      if (readers.length === 0) return;
      const round = patrolRounds.get(compound.seq) ?? {
        next: 0,
        guard: `G${String(compound.seq).padStart(4, '0')}${random.int(1, 4)}`,
      };
      // Guards now and then skip a checkpoint or take one out of order.
      if (random.chance(0.03)) round.next += 1;
      const index = random.chance(0.02) ? random.int(0, readers.length - 1) : round.next % readers.length;
      const rt = readers.find((r) => r.device.routeIndex === index) ?? readers[0]!;
      round.next = index + 1;
      if (round.next >= readers.length) {
        round.next = 0;
        round.guard = `G${String(compound.seq).padStart(4, '0')}${random.int(1, 4)}`;
      }
      patrolRounds.set(compound.seq, round);
      deliver(
        rt,
        make(rt, {
          type: 'patrol',
          guardTag: round.guard,
          checkpointTag: `CP${rt.device.serialNumber.slice(-8)}`,
        }),
      );
    },
    iot: () => {
      const sensors = devicesOf(pickCompound(), 'iot');
      if (sensors.length === 0) return;
      const rt = random.pick(sensors);
      const sensor = rt.device.iotKind ?? 'smoke';
      if (random.chance(0.04)) {
        const alarm = IOT_ALARM[sensor];
        deliver(
          rt,
          make(rt, {
            type: 'iotAlarm',
            sensor,
            state: 'active',
            code: alarm.code,
            description: alarm.text,
            measurements: iotMeasurements(sensor, random, true),
          }),
        );
        later(Date.now() + 30_000 + random.next() * 90_000, () =>
          make(rt, {
            type: 'iotAlarm',
            sensor,
            state: 'inactive',
            code: alarm.code,
            description: `${alarm.text}恢复`,
            measurements: iotMeasurements(sensor, random, false),
          }),
        );
        return;
      }
      deliver(
        rt,
        make(rt, {
          type: 'iotReading',
          sensor,
          measurements: iotMeasurements(sensor, random, false),
          battery: 100 - (rt.serial % 60),
        }),
      );
    },
  };

  const plateEvent = (rt: DeviceRuntime, plate: string, list: 'allow' | 'block' | 'none'): void => {
    const colour: PlateColour =
      plate === '' ? 'blue' : plate.length === 8 ? 'green' : random.chance(0.05) ? 'yellow' : 'blue';
    deliver(
      rt,
      make(rt, {
        type: 'plate',
        plate,
        plateColour: colour,
        vehicleColour: random.pick<VehicleColour>([
          'white',
          'white',
          'black',
          'black',
          'gray',
          'silver',
          'red',
          'blue',
          'brown',
        ]),
        vehicleKind: random.pick<VehicleKind>([
          'sedan',
          'sedan',
          'sedan',
          'suv',
          'suv',
          'mpv',
          'van',
          'truck',
        ]),
        brand: random.pick([
          'Volkswagen',
          'Toyota',
          'Honda',
          'BYD',
          'Geely',
          'Buick',
          'Haval',
          'Nissan',
          'Audi',
        ]),
        list,
        confidence: plate === '' ? 0 : random.int(82, 99),
        lane: 1,
      }),
    );
  };

  const later = (at: number, event: () => SimEvent | undefined): void => {
    if (delayed.length < 5000) delayed.push({ at, event });
  };

  // ---- loops ----------------------------------------------------------------------------------
  const TICK_MS = 100;
  let lastTick = Date.now();
  const tick = (): void => {
    const now = Date.now();
    const dt = Math.min(1, (now - lastTick) / 1000);
    lastTick = now;
    const hour = clock.hour(now);
    const rates = activityRates(rate, hour);
    for (const activity of ACTIVITIES) {
      const n = random.poisson(rates[activity] * dt);
      for (let i = 0; i < n; i += 1) generators[activity](hour);
    }
    for (let i = delayed.length - 1; i >= 0; i -= 1) {
      const item = delayed[i]!;
      if (item.at > now) continue;
      delayed.splice(i, 1);
      const event = item.event();
      if (event) deliver(runtimeOf.get(event.device.deviceId)!, event);
    }
  };
  const runtimeOf = new Map(runtimes.map((rt) => [rt.device.deviceId, rt]));

  const heartbeats = (): void => {
    const now = Date.now();
    for (const rt of runtimes) {
      if (rt.offlineUntil > 0 || rt.nextHeartbeatAt > now) continue;
      if (launch(rt, 'heartbeat', true, () => heartbeat(rt)))
        rt.nextHeartbeatAt = now + heartbeatMs * (0.95 + random.next() * 0.1);
    }
  };

  const offlinePerHour = options.offlinePerHour ?? 0.02;
  const WEATHER_MS = 10_000;
  const weather = (): void => {
    const now = Date.now();
    for (const rt of runtimes) {
      rt.skewMs += (rt.driftMsPerHour * WEATHER_MS) / 3_600_000;
      if (rt.offlineUntil > 0 && rt.offlineUntil <= now) {
        rt.offlineUntil = 0;
        rt.registered = false;
        rt.nextHeartbeatAt = now;
        // Back online: what was captured meanwhile is sent, flagged as retransmission.
        for (const event of rt.backlog.splice(0)) launch(rt, event.type, false, () => send(rt, event, true));
      } else if (rt.offlineUntil === 0 && random.chance((offlinePerHour * WEATHER_MS) / 3_600_000)) {
        rt.offlineUntil = now + (2 + random.next() * 13) * 60_000;
        if (rt.device.protocol === 'gat1400' && random.chance(0.5))
          launch(rt, 'unregister', true, () =>
            gat.unregister(rt, io).then(() => ({ accepted: 1, rejected: 0, status: 200 })),
          );
      }
    }
  };

  const stats = (): SimulatorStats => ({
    startedAt: new Date(start).toISOString(),
    compounds: compounds.length,
    devices: runtimes.length,
    online: runtimes.filter((r) => r.offlineUntil === 0).length,
    simulatedHour: Math.round(clock.hour(Date.now()) * 100) / 100,
    inFlight,
    dropped,
    byProtocol: structuredClone(byProtocol),
    byEvent: { ...byEvent },
    lastRejections: [...lastRejections],
    sourceAddresses: transport.bindsSource,
    commands: { ...commands },
  });

  const timers = [
    setInterval(tick, TICK_MS),
    setInterval(heartbeats, 1000),
    setInterval(weather, WEATHER_MS),
  ];
  const statsMs = (options.statsSeconds ?? 30) * 1000;
  if (statsMs > 0) timers.push(setInterval(() => log(formatStats(stats())), statsMs));
  for (const t of timers) t.unref();
  log(
    `sending to ${options.target} at ${rate} events/s (day average), time ×${options.timeScale ?? 1}, heartbeats every ${heartbeatMs / 1000} s`,
  );

  return {
    stats,
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const t of timers) clearInterval(t);
      const settle = Promise.allSettled([...pending]);
      await Promise.race([settle, new Promise((r) => setTimeout(r, 5000).unref())]);
      // Registered cameras say goodbye, as a clean shutdown of a real one would.
      const registered = runtimes.filter((r) => r.registered).slice(0, 200);
      await Promise.race([
        Promise.allSettled(registered.map((rt) => gat.unregister(rt, io))),
        new Promise((r) => setTimeout(r, 3000).unref()),
      ]);
      transport.close();
      await Promise.all(isapiDevices.map((d) => d.close()));
      log(formatStats(stats()));
    },
  };
}

/** The fields of one event kind that the traffic model decides (the device stamps the rest). */
type EventFields = SimEvent extends infer E
  ? E extends SimEvent
    ? Omit<E, 'device' | 'serial' | 'deviceTime' | 'seed'>
    : never
  : never;

const VISITOR_NAMES = ['王磊', '李娜', '张伟', '刘洋', '陈静', '杨帆', '赵敏', '孙浩', '周婷', '吴强'];

/** A well-formed 18-digit resident ID number (GB 11643 check digit) of a made-up person. */
export function visitorIdNumber(random: Random): string {
  const birth = new Date(Date.UTC(random.int(1950, 2005), random.int(0, 11), random.int(1, 28)));
  const body = `370303${birth.toISOString().slice(0, 10).replace(/-/g, '')}${String(random.int(0, 999)).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((n, d, i) => n + Number(d) * weights[i]!, 0);
  return body + '10X98765432'[sum % 11]!;
}

function initialClock(random: Random): { skewMs: number; driftMsPerHour: number } {
  const roll = random.next();
  const sign = random.chance(0.5) ? 1 : -1;
  const skewMs =
    roll < 0.85
      ? random.normal(0, 150)
      : roll < 0.95
        ? sign * (1200 + random.next() * 1800)
        : sign * (5500 + random.next() * 3500);
  const driftMsPerHour = random.chance(0.05) ? sign * (400 + random.next() * 1100) : random.normal(0, 30);
  return { skewMs: Math.round(skewMs), driftMsPerHour };
}

function randomCard(random: Random): string {
  return Math.floor(random.next() * 2 ** 32)
    .toString(16)
    .toUpperCase()
    .padStart(10, '0');
}

const IOT_ALARM: Record<IotKind, { code: string; text: string }> = {
  smoke: { code: 'SMOKE', text: '烟雾报警' },
  waterLeak: { code: 'WATER_LEAK', text: '水浸报警' },
  manholeCover: { code: 'COVER_OPEN', text: '井盖移位' },
  doorMagnet: { code: 'DOOR_OPEN', text: '门磁打开' },
  temperatureHumidity: { code: 'OVER_TEMP', text: '温度超限' },
  gas: { code: 'GAS_LEAK', text: '燃气泄漏' },
};

function iotMeasurements(
  sensor: string,
  random: Random,
  alarm: boolean,
): { name: string; value: number; unit: string }[] {
  const r = (x: number): number => Math.round(x * 10) / 10;
  switch (sensor) {
    case 'smoke':
      return [
        {
          name: 'smoke_density',
          value: r(alarm ? 8 + random.next() * 6 : random.next() * 0.8),
          unit: '%obs/m',
        },
      ];
    case 'waterLeak':
      return [{ name: 'water_level', value: r(alarm ? 3 + random.next() * 10 : 0), unit: 'cm' }];
    case 'manholeCover':
      return [{ name: 'tilt', value: r(alarm ? 25 + random.next() * 40 : random.next() * 2), unit: 'deg' }];
    case 'doorMagnet':
      return [{ name: 'open', value: alarm ? 1 : 0, unit: '' }];
    case 'gas':
      return [{ name: 'ch4', value: r(alarm ? 12 + random.next() * 20 : random.next() * 2), unit: '%LEL' }];
    default:
      return [
        {
          name: 'temperature',
          value: r(alarm ? 55 + random.next() * 10 : 8 + random.next() * 20),
          unit: 'Cel',
        },
        { name: 'humidity', value: r(35 + random.next() * 40), unit: '%RH' },
      ];
  }
}

function summary(devices: readonly SimDevice[]): string {
  const counts = new Map<string, number>();
  for (const d of devices)
    counts.set(`${d.kind}/${d.protocol}`, (counts.get(`${d.kind}/${d.protocol}`) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}

export function formatStats(s: SimulatorStats): string {
  const protocols = (Object.entries(s.byProtocol) as [string, ProtocolStats][])
    .map(
      ([name, p]) =>
        `${name} sent ${p.sent} ok ${p.accepted} rej ${p.rejected} err ${p.errors} hb ${p.heartbeats}`,
    )
    .join(' | ');
  const last = s.lastRejections.at(-1);
  const commands = Object.entries(s.commands)
    .map(([call, n]) => `${call} ${n}`)
    .join(', ');
  return `sim ${s.simulatedHour.toFixed(2)}h, ${s.online}/${s.devices} online, in flight ${s.inFlight}, dropped ${s.dropped} — ${protocols}${commands ? ` — commands: ${commands}` : ''}${last ? ` — last refusal: ${last}` : ''}`;
}

/**
 * One ISAPI command server per ISAPI device, at the device's registered loopback address (the
 * platform addresses ISAPI devices by IP). Where such addresses cannot be bound (not Linux), the
 * devices take no commands and this is said once.
 */
async function serveIsapiCommands(
  runtimes: readonly DeviceRuntime[],
  port: number,
  onCall: (rt: DeviceRuntime, call: string) => void,
  log: (line: string) => void,
): Promise<IsapiDevice[]> {
  const started: IsapiDevice[] = [];
  for (const rt of runtimes) {
    try {
      started.push(
        await startIsapiDevice({
          host: rt.device.ipAddress,
          port,
          secret: rt.secret,
          onCall: (call) => onCall(rt, call),
        }),
      );
    } catch (err) {
      log(
        `ISAPI devices take no commands: cannot listen on ${rt.device.ipAddress}:${port} (${(err as Error).message})`,
      );
      await Promise.all(started.map((d) => d.close()));
      return [];
    }
  }
  log(`${started.length} ISAPI devices take commands on port ${port} of their addresses`);
  return started;
}
