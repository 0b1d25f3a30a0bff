/**
 * device_activity (migration 0010): last contact, clock offset, drift severity and online status
 * per device. Sightings are flushed in batches (one statement for many devices, times only move
 * forward); status and drift transitions run in a transaction that locks the devices' rows
 * (`SELECT … FOR UPDATE`), re-checks each one's expected previous state, applies the changes and
 * writes their events to the outbox in the same transaction. Any replica may attempt a transition; the lock and
 * the re-check make exactly one of them apply it, and the outbox makes the event as durable as the
 * change.
 */
import type { Pool } from '@anfang/platform/pg';
import { withTransaction, type ClientBase } from '@anfang/platform/pg';
import type { DriftSeverity } from '../domain/clock.ts';
import type { DeviceStatus } from '../domain/status.ts';

export interface ActivitySample {
  readonly deviceId: string;
  readonly lastSeenAt: Date;
  readonly lastHeartbeatAt?: Date | undefined;
  readonly clockOffsetMs?: number | undefined;
  readonly clockSampledAt?: Date | undefined;
}

export interface ActivityRow {
  readonly deviceId: string;
  readonly lastSeenAt: Date;
  readonly lastHeartbeatAt: Date | null;
  /** Device − platform, ms (positive: the device is ahead); null when never measured. */
  readonly clockOffsetMs: number | null;
  /** Platform time of the sample clockOffsetMs was measured at. */
  readonly clockSampledAt: Date | null;
  readonly clockSeverity: DriftSeverity;
  readonly status: DeviceStatus;
  readonly statusChangedAt: Date;
}

interface Row {
  device_id: string;
  last_seen_at: Date;
  last_heartbeat_at: Date | null;
  clock_offset_ms: string | null;
  clock_sampled_at: Date | null;
  clock_severity: DriftSeverity;
  status: DeviceStatus;
  status_changed_at: Date;
}

// pg reads a new string per row and the tracker keeps a device's severity and status for as long as
// the process runs: these constants instead, not 20 000 copies of 'ok'.
const SEVERITY: Record<DriftSeverity, DriftSeverity> = { ok: 'ok', warning: 'warning', alarm: 'alarm' };
const STATUS: Record<DeviceStatus, DeviceStatus> = { online: 'online', offline: 'offline' };

const toRow = (r: Row): ActivityRow => ({
  deviceId: r.device_id,
  lastSeenAt: r.last_seen_at,
  lastHeartbeatAt: r.last_heartbeat_at,
  clockOffsetMs: r.clock_offset_ms === null ? null : Number(r.clock_offset_ms),
  clockSampledAt: r.clock_sampled_at,
  clockSeverity: SEVERITY[r.clock_severity],
  status: STATUS[r.status],
  statusChangedAt: r.status_changed_at,
});

export interface ActivityStore {
  /** Upserts the samples (times only move forward); returns each device's stored status. */
  flush(samples: readonly ActivitySample[]): Promise<Map<string, DeviceStatus>>;
  /** Devices online in the table but silent since before `cutoff`. */
  timedOut(cutoff: Date, limit?: number): Promise<{ deviceId: string; lastSeenAt: Date }[]>;
  get(deviceId: string): Promise<ActivityRow | undefined>;
  list(deviceIds: readonly string[]): Promise<ActivityRow[]>;
  /** Active devices online and offline per compound (never seen counts as offline). */
  statusCounts(): Promise<{ compoundId: string; online: number; offline: number }[]>;
  /**
   * Runs `fn` with the devices' rows locked (each created offline if absent, at its `seenAt`; locked
   * in id order, handed over in the given order); `fn` applies the transitions through the client
   * and enqueues their events; all of it commits together.
   */
  withDevices<T>(
    devices: readonly { readonly deviceId: string; readonly seenAt: Date }[],
    fn: (rows: ActivityRow[], client: ClientBase) => Promise<T>,
  ): Promise<T>;
}

export function createActivityStore(pool: Pool): ActivityStore {
  return {
    async statusCounts() {
      const { rows } = await pool.query<{ compound_id: string; online: string; offline: string }>(
        `SELECT d.compound_id,
                count(*) FILTER (WHERE a.status = 'online') AS online,
                count(*) FILTER (WHERE a.status IS DISTINCT FROM 'online') AS offline
           FROM devices d LEFT JOIN device_activity a USING (device_id)
          WHERE d.lifecycle = 'active'
          GROUP BY d.compound_id`,
      );
      return rows.map((r) => ({
        compoundId: r.compound_id,
        online: Number(r.online),
        offline: Number(r.offline),
      }));
    },
    async flush(samples) {
      const result = new Map<string, DeviceStatus>();
      if (samples.length === 0) return result;
      const { rows } = await pool.query<{ device_id: string; status: DeviceStatus }>(
        `INSERT INTO device_activity AS a (device_id, last_seen_at, last_heartbeat_at, clock_offset_ms, clock_sampled_at, status, status_changed_at)
         SELECT s.device_id, s.last_seen_at, s.last_heartbeat_at, s.clock_offset_ms, s.clock_sampled_at, 'offline', s.last_seen_at
           FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::timestamptz[])
             AS s(device_id, last_seen_at, last_heartbeat_at, clock_offset_ms, clock_sampled_at)
          -- Rows locked in id order, as the transitions lock theirs: the two never wait in a cycle.
          ORDER BY s.device_id
         ON CONFLICT (device_id) DO UPDATE SET
           last_seen_at = GREATEST(a.last_seen_at, EXCLUDED.last_seen_at),
           last_heartbeat_at = GREATEST(a.last_heartbeat_at, EXCLUDED.last_heartbeat_at),
           clock_offset_ms = CASE WHEN EXCLUDED.clock_sampled_at IS NOT NULL
                                   AND (a.clock_sampled_at IS NULL OR EXCLUDED.clock_sampled_at >= a.clock_sampled_at)
                                  THEN EXCLUDED.clock_offset_ms ELSE a.clock_offset_ms END,
           clock_sampled_at = GREATEST(a.clock_sampled_at, EXCLUDED.clock_sampled_at)
         RETURNING device_id, status`,
        [
          samples.map((s) => s.deviceId),
          samples.map((s) => s.lastSeenAt),
          samples.map((s) => s.lastHeartbeatAt ?? null),
          samples.map((s) => (s.clockOffsetMs === undefined ? null : Math.round(s.clockOffsetMs))),
          samples.map((s) => (s.clockOffsetMs === undefined ? null : (s.clockSampledAt ?? s.lastSeenAt))),
        ],
      );
      for (const r of rows) result.set(r.device_id, r.status);
      return result;
    },

    async timedOut(cutoff, limit = 1000) {
      const { rows } = await pool.query<{ device_id: string; last_seen_at: Date }>(
        `SELECT device_id, last_seen_at FROM device_activity
          WHERE status = 'online' AND last_seen_at < $1 ORDER BY last_seen_at LIMIT $2`,
        [cutoff, limit],
      );
      return rows.map((r) => ({ deviceId: r.device_id, lastSeenAt: r.last_seen_at }));
    },

    async get(deviceId) {
      const { rows } = await pool.query<Row>('SELECT * FROM device_activity WHERE device_id = $1', [
        deviceId,
      ]);
      return rows[0] ? toRow(rows[0]) : undefined;
    },

    async list(deviceIds) {
      const { rows } = await pool.query<Row>(
        'SELECT * FROM device_activity WHERE device_id = ANY($1::text[])',
        [deviceIds],
      );
      return rows.map(toRow);
    },

    withDevices(devices, fn) {
      return withTransaction(pool, async (tx) => {
        const ids = devices.map((d) => d.deviceId);
        await tx.query(
          `INSERT INTO device_activity (device_id, last_seen_at, status, status_changed_at)
           SELECT d, s, 'offline', s FROM unnest($1::text[], $2::timestamptz[]) AS x(d, s)
           ON CONFLICT (device_id) DO NOTHING`,
          [ids, devices.map((d) => d.seenAt)],
        );
        // In id order, as every replica locks them: two batches never wait on each other in a cycle.
        const { rows } = await tx.query<Row>(
          'SELECT * FROM device_activity WHERE device_id = ANY($1::text[]) ORDER BY device_id FOR UPDATE',
          [ids],
        );
        const byId = new Map(rows.map((r) => [r.device_id, toRow(r)]));
        return fn(
          ids.map((id) => byId.get(id)!),
          tx,
        );
      });
    },
  };
}

/** Status transitions of several locked rows in one statement. */
export async function setStatuses(
  client: ClientBase,
  changes: readonly { deviceId: string; status: DeviceStatus; at: Date; lastSeenAt?: Date }[],
): Promise<void> {
  if (changes.length === 0) return;
  await client.query(
    `UPDATE device_activity AS a SET status = c.status, status_changed_at = c.at,
            last_seen_at = GREATEST(a.last_seen_at, COALESCE(c.seen, a.last_seen_at))
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS c(id, status, at, seen)
      WHERE a.device_id = c.id`,
    [
      changes.map((c) => c.deviceId),
      changes.map((c) => c.status),
      changes.map((c) => c.at),
      changes.map((c) => c.lastSeenAt ?? null),
    ],
  );
}

/** Drift severity changes (and the offsets that caused them) of several locked rows in one statement. */
export async function setClocks(
  client: ClientBase,
  changes: readonly { deviceId: string; severity: DriftSeverity; offsetMs: number; sampledAt: Date }[],
): Promise<void> {
  if (changes.length === 0) return;
  await client.query(
    `UPDATE device_activity AS a SET clock_severity = c.severity, clock_offset_ms = c.offset_ms,
            clock_sampled_at = GREATEST(a.clock_sampled_at, c.sampled_at)
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[]) AS c(id, severity, offset_ms, sampled_at)
      WHERE a.device_id = c.id`,
    [
      changes.map((c) => c.deviceId),
      changes.map((c) => c.severity),
      changes.map((c) => Math.round(c.offsetMs)),
      changes.map((c) => c.sampledAt),
    ],
  );
}
