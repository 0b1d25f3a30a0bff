/**
 * The ActivityTracker: last seen, clock offset, online/offline and clock drift per device.
 *
 * - Sightings (`seen`) only touch memory; a flush writes them to device_activity in one batched
 *   statement every `flushIntervalMs`. Per-request cost: a map update.
 * - Transitions (online, offline, drift severity) are the tracker's alone and run one device at a
 *   time: each device has a promise chain, so "seen" and "timed out" never interleave for it. Each
 *   transition locks the device's row, re-checks the expected previous state, applies it and
 *   writes its events to the outbox in the same transaction (ActivityStore.withDevices) — which is
 *   what makes them safe across replicas: whichever replica gets the lock first applies it, the
 *   others find it done. Transitions of one kind share transactions, one at a time (up to
 *   TRANSITION_BATCH devices each; what arrives meanwhile goes in the next): after a restart, an
 *   outage or a mass timeout thousands of devices change at once, and a transaction each held the
 *   pool for minutes while the flush, the commands and the relay waited for a connection.
 * - Offline: every `sweepIntervalMs` the devices online in Postgres but silent past interval ×
 *   misses are timed out, unless this replica saw them since (memory) or another replica flushed
 *   a newer sighting (re-read under the lock). A sighting that arrives while a timeout is being
 *   applied queues an online transition behind it. On start the sweep runs at once, so devices
 *   silent while no replica ran go offline. Another replica's sightings reach Postgres within its
 *   flush interval: keep the silence timeout well above it (it is, by default, 90 s vs 1 s).
 * - Each flush returns the stored status; a device this replica believes online but Postgres has
 *   offline (another replica timed it out) is brought back online if it was seen since.
 */
import { outboxEventPublisher } from '@anfang/platform/pg';
import { topics } from '@anfang/contracts';
import { uuidv7 } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import { coalescing } from '@anfang/platform/service';
import {
  ClockFilter,
  clockOffsetMs,
  DEFAULT_CLOCK_WINDOW_MS,
  DEFAULT_DRIFT_THRESHOLDS,
  driftChange,
  type DriftSeverity,
  type DriftThresholds,
} from '../domain/clock.ts';
import type { RegisteredDevice } from '../domain/device.ts';
import { offlineCutoff, silenceTimeoutMs, type DeviceStatus, type StatusPolicy } from '../domain/status.ts';
import {
  setClocks,
  setStatuses,
  type ActivityRow,
  type ActivitySample,
  type ActivityStore,
} from '../store/activity.ts';
import type { CommandStore } from '../store/commands.ts';
import { deviceRef } from './device-ref.ts';
import type { DeviceDirectory } from './types.ts';

export interface Sighting {
  /** Platform time of the contact. */
  readonly at: Date;
  readonly heartbeat: boolean;
  /** The device's time for the same moment, when the message carried one. */
  readonly deviceTime?: Date | undefined;
}

export interface ActivityTracker {
  /** Records a contact (synchronous, memory only); transitions follow asynchronously. */
  seen(device: RegisteredDevice, sighting: Sighting): void;
  /** Writes pending sightings to Postgres. */
  flush(): Promise<void>;
  /** Times out silent devices. */
  sweep(): Promise<void>;
  /** This replica's view (undefined: not known here yet). */
  statusOf(deviceId: string): DeviceStatus | undefined;
  /** Resolves when every queued transition has run (tests, shutdown). */
  settled(): Promise<void>;
  /** Runs the first sweep and starts the flush and sweep timers. */
  start(): Promise<void>;
  /** Stops the timers, waits for transitions and flushes. */
  stop(): Promise<void>;
}

export interface ActivityTrackerDeps {
  readonly store: ActivityStore;
  readonly commands: CommandStore;
  readonly directory: DeviceDirectory;
  readonly logger: Logger;
  /** Producer name of the events (the service name). */
  readonly producer: string;
  readonly policy: StatusPolicy;
  readonly drift?: DriftThresholds;
  /** Drift is judged on the least-delayed clock sample of this window (ClockFilter). */
  readonly clockWindowMs?: number;
  /** Default 1000 ms. */
  readonly flushIntervalMs?: number;
  /** Default min(5 s, timeout / 4). */
  readonly sweepIntervalMs?: number;
  readonly now?: () => Date;
}

/**
 * A device's state here, one per device that made contact (20 000 live as long as the process):
 * times are epoch ms, not Dates (96 B each, a new one per sighting kept), and the chain is
 * dropped once it has run (a settled promise per device otherwise).
 */
interface Entry {
  device: RegisteredDevice | undefined;
  lastSeenAt: number | undefined;
  lastHeartbeatAt: number | undefined;
  clock: ClockFilter | undefined;
  /** The clock filter's estimate and when its sample was measured. */
  offsetMs: number | undefined;
  sampledAt: number | undefined;
  dirty: boolean;
  status: DeviceStatus | undefined;
  severity: DriftSeverity | undefined;
  onlineQueued: boolean;
  offlineQueued: boolean;
  driftQueued: boolean;
  /** The device's transitions still to run, in order; undefined when none is. */
  chain: Promise<void> | undefined;
}

const STATUS = { online: 1, offline: 2 } as const;
/**
 * Most devices in one transition transaction. Its events are built, encoded and bound to the
 * outbox INSERT in one synchronous stretch, and every request waits behind it: 500 held the event
 * loop for 45–85 ms of CPU per batch (a mass online or offline), 100 for a fifth of that.
 */
const TRANSITION_BATCH = 100;
const REASON = { heartbeat: 1, traffic: 2, timeout: 5 } as const;
const SEVERITY: Record<DriftSeverity, number> = { ok: 1, warning: 2, alarm: 3 };
const ALARM_KIND_CLOCK_DRIFT = 4;
const TRIGGER = { active: 1, inactive: 2 } as const;

const dateOf = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));

const ts = (d: Date) => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1e6 });

/** A transition batch that failed; logged once for all its devices. */
class BatchFailed extends Error {
  override readonly name = 'BatchFailed';
}

/**
 * Requests committed together, one commit at a time per kind (`coalescing`): what arrives while
 * a commit runs waits for the next one (at most `max` per commit), so under load batches grow
 * instead of transactions multiplying — the pool is shared with the flush, the commands and the
 * relay. A failed commit fails all its requests (one transaction per device would be the flood
 * this avoids) and is logged here, once per batch.
 */
function batched<R, T>(
  max: number,
  what: string,
  log: Logger,
  commit: (batch: readonly R[]) => Promise<readonly T[]>,
): (request: R) => Promise<T> {
  const apply = coalescing(
    async (batch: readonly R[]) => {
      try {
        return await commit(batch);
      } catch (err) {
        log.error({ err, what, devices: batch.length }, 'device transitions failed');
        throw new BatchFailed(`${what} of ${batch.length} devices failed`, { cause: err });
      }
    },
    { onFailure: 'all', maxItems: max },
  );
  return async (request) => (await apply([request]))[0]!;
}

export function createActivityTracker(deps: ActivityTrackerDeps): ActivityTracker {
  const { store, commands, directory, producer, policy } = deps;
  const thresholds = deps.drift ?? DEFAULT_DRIFT_THRESHOLDS;
  const clockWindowMs = deps.clockWindowMs ?? DEFAULT_CLOCK_WINDOW_MS;
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ component: 'activity' });
  const flushEvery = deps.flushIntervalMs ?? 1000;
  const sweepEvery = deps.sweepIntervalMs ?? Math.max(100, Math.min(5000, silenceTimeoutMs(policy) / 4));
  const entries = new Map<string, Entry>();
  const inflight = new Set<Promise<void>>();
  let timers: NodeJS.Timeout[] = [];
  let flushing: Promise<void> | undefined;
  let sweeping: Promise<void> | undefined;

  function entryOf(deviceId: string, device?: RegisteredDevice): Entry {
    let e = entries.get(deviceId);
    if (!e) {
      e = {
        device,
        lastSeenAt: undefined,
        lastHeartbeatAt: undefined,
        clock: undefined,
        offsetMs: undefined,
        sampledAt: undefined,
        dirty: false,
        status: undefined,
        severity: undefined,
        onlineQueued: false,
        offlineQueued: false,
        driftQueued: false,
        chain: undefined,
      };
      entries.set(deviceId, e);
    } else if (device) e.device = device;
    return e;
  }

  /**
   * The stored rows of devices this replica has no state of yet (first sighting since it started:
   * after a restart every device is one), read in one `= ANY` query per event-loop turn. A device
   * already online, or whose drift severity a sample does not change, then needs no transaction:
   * the locked re-check would have found the same and changed nothing. Only a filter — on a read
   * failure the transaction runs as before.
   */
  const readRows = batched(TRANSITION_BATCH, 'activity read', log, async (ids: readonly string[]) => {
    const stored = new Map((await store.list(ids)).map((r) => [r.deviceId, r]));
    return ids.map((id) => ({ row: stored.get(id) }));
  });
  /** `{ row }` (undefined: the device has no row yet), or undefined when the read failed. */
  const peek = (deviceId: string): Promise<{ row: ActivityRow | undefined } | undefined> =>
    readRows(deviceId).catch(() => undefined);

  function schedule(deviceId: string, e: Entry, what: string, task: () => Promise<void>): void {
    const run = (e.chain ?? Promise.resolve()).then(task).catch((err: unknown) => {
      if (!(err instanceof BatchFailed)) log.error({ err, deviceId, what }, 'device transition failed');
    });
    e.chain = run;
    inflight.add(run);
    void run.finally(() => {
      inflight.delete(run);
      if (e.chain === run) e.chain = undefined;
    });
  }

  const refOf = (deviceId: string, e: Entry) => {
    const device = e.device ?? directory.byId(deviceId);
    return { ref: device ? deviceRef(device) : { deviceId }, compoundId: device?.compoundId };
  };

  function scheduleOnline(deviceId: string, e: Entry, heartbeat: boolean): void {
    e.onlineQueued = true;
    schedule(deviceId, e, 'online', async () => {
      e.onlineQueued = false;
      if (e.status === undefined) {
        const stored = (await peek(deviceId))?.row;
        if (stored?.status === 'online') {
          e.status = 'online';
          return;
        }
      }
      await goOnline({ deviceId, entry: e, seenAt: dateOf(e.lastSeenAt) ?? now(), heartbeat });
      e.status = 'online';
    });
  }

  /** Devices going online (those already online in Postgres are left as they are). */
  const goOnline = batched(
    TRANSITION_BATCH,
    'online',
    log,
    async (
      batch: readonly { deviceId: string; entry: Entry; seenAt: Date; heartbeat: boolean }[],
    ): Promise<void[]> =>
      store.withDevices(
        batch.map((r) => ({ deviceId: r.deviceId, seenAt: r.seenAt })),
        async (rows, tx) => {
          const at = now();
          const going = batch.flatMap((r, i) => (rows[i]!.status === 'online' ? [] : [{ r, row: rows[i]! }]));
          await setStatuses(
            tx,
            going.map(({ r }) => ({
              deviceId: r.deviceId,
              status: 'online' as const,
              at,
              lastSeenAt: r.seenAt,
            })),
          );
          await outboxEventPublisher(tx, producer).publishMany(
            topics.deviceStatusChanged,
            going.map(({ r, row }) => {
              const { ref, compoundId } = refOf(r.deviceId, r.entry);
              return {
                payload: {
                  device: ref,
                  previousStatus: STATUS[row.status],
                  status: STATUS.online,
                  reason: r.heartbeat ? REASON.heartbeat : REASON.traffic,
                  lastSeenAt: ts(r.seenAt),
                },
                options: { occurredAt: r.seenAt, ...(compoundId ? { compoundId } : {}) },
              };
            }),
          );
          return batch.map(() => undefined);
        },
      ),
  );

  /**
   * Devices timing out: offline unless seen since the cutoff, here (memory, read at commit) or by
   * another replica (its flushed sighting, re-read under the lock). Resolves to whether it went.
   */
  const goOffline = batched(
    TRANSITION_BATCH,
    'offline',
    log,
    async (batch: readonly { deviceId: string; entry: Entry; at: Date }[]): Promise<boolean[]> =>
      store.withDevices(
        batch.map((r) => ({ deviceId: r.deviceId, seenAt: r.at })),
        async (rows, tx) => {
          const at = now();
          const cutoff = offlineCutoff(at, policy);
          const went = batch.map((r, i) => {
            const row = rows[i]!;
            const seenHere = r.entry.lastSeenAt !== undefined && r.entry.lastSeenAt >= cutoff.getTime();
            return row.status === 'online' && row.lastSeenAt < cutoff && !seenHere;
          });
          const going = batch.flatMap((r, i) => (went[i] ? [{ r, row: rows[i]! }] : []));
          await setStatuses(
            tx,
            going.map(({ r }) => ({ deviceId: r.deviceId, status: 'offline' as const, at })),
          );
          await outboxEventPublisher(tx, producer).publishMany(
            topics.deviceStatusChanged,
            going.map(({ r, row }) => {
              const { ref, compoundId } = refOf(r.deviceId, r.entry);
              return {
                payload: {
                  device: ref,
                  previousStatus: STATUS.online,
                  status: STATUS.offline,
                  reason: REASON.timeout,
                  lastSeenAt: ts(row.lastSeenAt),
                },
                options: { occurredAt: at, ...(compoundId ? { compoundId } : {}) },
              };
            }),
          );
          return went;
        },
      ),
  );

  /**
   * Clock samples that may change devices' drift severity: each re-judged against its locked row;
   * a change is stored with its offset, announced, and (entering warning or alarm from ok) queues
   * a time sync unless one is open. Resolves to the severity each device has now.
   */
  const changeDrift = batched(
    TRANSITION_BATCH,
    'drift',
    log,
    async (
      batch: readonly { deviceId: string; entry: Entry; offset: number; sampledAt: Date }[],
    ): Promise<DriftSeverity[]> =>
      store.withDevices(
        batch.map((r) => ({ deviceId: r.deviceId, seenAt: r.sampledAt })),
        async (rows, tx) => {
          const changes = batch.map((r, i) => driftChange(rows[i]!.clockSeverity, r.offset, thresholds));
          const changed = batch.flatMap((r, i) => {
            const change = changes[i];
            return change ? [{ r, change }] : [];
          });
          await setClocks(
            tx,
            changed.map(({ r, change }) => ({
              deviceId: r.deviceId,
              severity: change.severity,
              offsetMs: r.offset,
              sampledAt: r.sampledAt,
            })),
          );
          const wantSync = changed.filter(({ change }) => change.queueTimeSync).map(({ r }) => r.deviceId);
          const open = await commands.withOpen(tx, wantSync, 'timeSync');
          const events = outboxEventPublisher(tx, producer);
          const drifts = [];
          const alarms = [];
          for (const { r, change } of changed) {
            const { ref, compoundId } = refOf(r.deviceId, r.entry);
            const options = { occurredAt: r.sampledAt, ...(compoundId ? { compoundId } : {}) };
            let resync = false;
            if (change.queueTimeSync && !open.has(r.deviceId))
              resync = await commands.enqueueIn(
                tx,
                {
                  commandId: uuidv7(),
                  deviceId: r.deviceId,
                  timeSync: {},
                  requestedBy: producer,
                  reason: `clock offset ${r.offset} ms`,
                },
                { now: now(), ...(compoundId ? { compoundId } : {}) },
              );
            drifts.push({
              payload: {
                device: ref,
                offsetMs: Math.round(r.offset),
                previousSeverity: SEVERITY[change.previous],
                severity: SEVERITY[change.severity],
                resyncQueued: resync,
              },
              options,
            });
            if (change.alarm !== undefined)
              alarms.push({
                payload: {
                  device: ref,
                  sourceObjectId: `clock-drift:${r.sampledAt.getTime()}`,
                  kind: ALARM_KIND_CLOCK_DRIFT,
                  state: change.alarm ? TRIGGER.active : TRIGGER.inactive,
                  description: change.alarm
                    ? `clock offset ${Math.round(r.offset)} ms exceeds ${thresholds.alarmMs} ms`
                    : `clock offset back to ${Math.round(r.offset)} ms`,
                },
                options,
              });
          }
          await events.publishMany(topics.deviceClockDrift, drifts);
          await events.publishMany(topics.deviceAlarmReported, alarms);
          return batch.map((_, i) => changes[i]?.severity ?? rows[i]!.clockSeverity);
        },
      ),
  );

  function scheduleOffline(deviceId: string, e: Entry): void {
    e.offlineQueued = true;
    schedule(deviceId, e, 'offline', async () => {
      try {
        // Seen here since the cutoff: still online (the flush will carry the sighting).
        if (e.lastSeenAt !== undefined && e.lastSeenAt >= offlineCutoff(now(), policy).getTime()) return;
        if (await goOffline({ deviceId, entry: e, at: now() })) e.status = 'offline';
      } finally {
        e.offlineQueued = false;
      }
    });
  }

  function scheduleDrift(deviceId: string, e: Entry): void {
    e.driftQueued = true;
    schedule(deviceId, e, 'drift', async () => {
      e.driftQueued = false;
      const offset = e.offsetMs;
      const sampledAt = dateOf(e.sampledAt) ?? now();
      if (offset === undefined) return;
      if (e.severity === undefined) {
        // A device without a row yet gets one at the column's default, 'ok': a first sample
        // within bounds changes nothing (20 000 first sightings, 20 000 transactions saved).
        const stored = await peek(deviceId);
        const severity = stored ? (stored.row?.clockSeverity ?? 'ok') : undefined;
        if (severity !== undefined && !driftChange(severity, offset, thresholds)) {
          e.severity = severity;
          return;
        }
      }
      e.severity = await changeDrift({ deviceId, entry: e, offset, sampledAt });
    });
  }

  async function flush(): Promise<void> {
    if (flushing) return flushing;
    const batch: { e: Entry; sample: ActivitySample }[] = [];
    for (const [deviceId, e] of entries) {
      if (!e.dirty || e.lastSeenAt === undefined) continue;
      e.dirty = false;
      batch.push({
        e,
        sample: {
          deviceId,
          lastSeenAt: new Date(e.lastSeenAt),
          lastHeartbeatAt: dateOf(e.lastHeartbeatAt),
          clockOffsetMs: e.offsetMs,
          clockSampledAt: dateOf(e.sampledAt),
        },
      });
    }
    if (batch.length === 0) return;
    flushing = (async () => {
      try {
        const stored = await store.flush(batch.map((b) => b.sample));
        const cutoff = offlineCutoff(now(), policy).getTime();
        for (const { e, sample } of batch) {
          if (stored.get(sample.deviceId) === 'offline' && e.status === 'online') {
            // Timed out by another replica, yet seen here: bring it back.
            e.status = 'offline';
            if (e.lastSeenAt !== undefined && e.lastSeenAt >= cutoff && !e.onlineQueued)
              scheduleOnline(sample.deviceId, e, e.lastHeartbeatAt !== undefined);
          }
        }
      } catch (err) {
        for (const { e } of batch) e.dirty = true;
        log.warn({ err, devices: batch.length }, 'activity flush failed; will retry');
      } finally {
        flushing = undefined;
      }
    })();
    return flushing;
  }

  async function sweep(): Promise<void> {
    if (sweeping) return sweeping;
    sweeping = (async () => {
      try {
        await flush();
        const cutoff = offlineCutoff(now(), policy);
        for (const { deviceId } of await store.timedOut(cutoff)) {
          const e = entryOf(deviceId);
          if (e.offlineQueued) continue;
          if (e.lastSeenAt !== undefined && e.lastSeenAt >= cutoff.getTime()) continue;
          scheduleOffline(deviceId, e);
        }
      } catch (err) {
        log.warn({ err }, 'status sweep failed; will retry');
      } finally {
        sweeping = undefined;
      }
    })();
    return sweeping;
  }

  return {
    seen(device, sighting) {
      const e = entryOf(device.deviceId, device);
      const at = sighting.at.getTime();
      if (e.lastSeenAt === undefined || at > e.lastSeenAt) e.lastSeenAt = at;
      if (sighting.heartbeat && (e.lastHeartbeatAt === undefined || at > e.lastHeartbeatAt))
        e.lastHeartbeatAt = at;
      e.dirty = true;
      if ((e.status !== 'online' || e.offlineQueued) && !e.onlineQueued)
        scheduleOnline(device.deviceId, e, sighting.heartbeat);
      if (sighting.deviceTime && Number.isFinite(sighting.deviceTime.getTime())) {
        e.clock ??= new ClockFilter(clockWindowMs);
        const best = e.clock.add({ at, offsetMs: clockOffsetMs(sighting.at, sighting.deviceTime) });
        const offset = best.offsetMs;
        e.offsetMs = offset;
        e.sampledAt = best.at;
        const changes = e.severity === undefined || driftChange(e.severity, offset, thresholds) !== undefined;
        if (changes && !e.driftQueued) scheduleDrift(device.deviceId, e);
      }
    },
    flush,
    sweep,
    statusOf: (deviceId) => entries.get(deviceId)?.status,
    async settled() {
      while (inflight.size) await Promise.allSettled([...inflight]);
    },
    async start() {
      await sweep();
      timers = [setInterval(() => void flush(), flushEvery), setInterval(() => void sweep(), sweepEvery)];
      for (const t of timers) t.unref();
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      timers = [];
      await sweeping;
      while (inflight.size) await Promise.allSettled([...inflight]);
      await flush();
    },
  };
}
