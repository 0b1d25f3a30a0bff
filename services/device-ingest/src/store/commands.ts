/**
 * device_commands (migration 0012): commands queued per device. Every state change writes its
 * `anfang.device.command-status.v1` event to the outbox in the same transaction, so the status
 * events are exactly as durable as the state. Rows are locked while they change (`FOR UPDATE`,
 * `SKIP LOCKED` for delivery), so replicas never deliver or acknowledge one command twice at once.
 */
import { topics, type anfang } from '@anfang/contracts';
import { uuidv7 } from '@anfang/platform/bus';
import { outboxEventPublisher, withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
import {
  COMMAND_KINDS,
  COMMAND_STATUS_VALUE,
  DEFAULT_COMMAND_TTL_MS,
  type CommandKind,
  type CommandResult,
  type CommandState,
} from '../domain/commands.ts';
import { coalescing } from '@anfang/platform/service';
import type { PendingCommand } from '../ingest/types.ts';

export type DeviceCommandInit = anfang.device.v1.DeviceCommand.$Properties;

export interface CommandRecord {
  readonly commandId: string;
  readonly deviceId: string;
  readonly kind: string;
  readonly status: CommandState;
  readonly attempts: number;
  readonly detail: string;
  readonly command: Record<string, unknown>;
}

export type AckOutcome = 'applied' | 'already-final' | 'not-found';

export interface CommandStore {
  /** Queues a command (idempotent by command id); false when it was already known. */
  enqueue(command: DeviceCommandInit, options?: { now?: Date; compoundId?: string }): Promise<boolean>;
  /** The same inside the caller's transaction (e.g. a drift transition queuing a time sync). */
  enqueueIn(
    client: ClientBase,
    command: DeviceCommandInit,
    options?: { now?: Date; compoundId?: string },
  ): Promise<boolean>;
  /** Records a command that cannot be queued (unknown device, no command) as rejected. */
  reject(command: DeviceCommandInit, detail: string, now?: Date): Promise<void>;
  /**
   * Open commands for the device, marked delivered (first delivery publishes `delivered`; an
   * unacknowledged command is delivered again on the next contact). Overdue ones expire instead.
   */
  deliver(
    deviceId: string,
    options?: { now?: Date; limit?: number; compoundId?: string },
  ): Promise<PendingCommand[]>;
  acknowledge(
    deviceId: string,
    commandId: string,
    result: CommandResult,
    detail: string,
    now?: Date,
  ): Promise<{ outcome: AckOutcome; status?: CommandState }>;
  /** Expires open commands past their deadline (those whose device never came back). */
  expireDue(now?: Date, limit?: number): Promise<number>;
  get(commandId: string): Promise<CommandRecord | undefined>;
  /** Devices with open commands (the push transports' retry round). */
  openDeviceIds(limit?: number): Promise<string[]>;
  /** Those of the devices with an open command of this kind (avoids piling up time syncs). */
  withOpen(client: ClientBase, deviceIds: readonly string[], kind: CommandKind): Promise<Set<string>>;
}

export interface CommandStoreOptions {
  readonly pool: Pool;
  /** Producer name for the status events (the service name). */
  readonly producer: string;
}

const codec = topics.deviceCommand.payload;

export function commandKindOf(command: DeviceCommandInit): CommandKind | undefined {
  return COMMAND_KINDS.find((k) => command[k] != null);
}

/** The device's copy: proto3 JSON of the command without the envelope. */
export function commandJson(command: DeviceCommandInit): Record<string, unknown> {
  const { meta: _meta, ...rest } = codec.toObject(codec.fromObject(command as Record<string, unknown>), {
    enums: String,
    longs: Number,
    oneofs: true,
    defaults: false,
  }) as Record<string, unknown> & { meta?: unknown };
  return rest;
}

function expiresAt(command: DeviceCommandInit, now: Date): Date {
  const exp = command.expiresAt;
  if (exp && exp.seconds != null) {
    const ms = Number(exp.seconds) * 1000 + Math.floor((exp.nanos ?? 0) / 1e6);
    if (ms > 0) return new Date(ms);
  }
  return new Date(now.getTime() + DEFAULT_COMMAND_TTL_MS);
}

/** Most devices one "anything waiting?" read asks about. */
const OPEN_PROBE_BATCH = 500;
/** How long the first heartbeat of a read waits for others to share it. */
const HEARTBEAT_LINGER_MS = 15;

export function createCommandStore({ pool, producer }: CommandStoreOptions): CommandStore {
  /**
   * Which of the devices have an open command: the question every heartbeat asks (20 000 devices
   * at 30 s are ~670 a second), almost always answered "none". The heartbeats waiting while one
   * read runs share the next (one indexed `= ANY` read), instead of a query — a pool checkout,
   * a round trip and a Postgres statement — each. A read answers in about a millisecond, so
   * without a linger most reads carried one or two heartbeats (their socket writes to Postgres
   * were 11 % of the service's time with heartbeats alone); lingering HEARTBEAT_LINGER_MS gathers
   * about ten a read, for that much more on a heartbeat's answer, which nothing waits on.
   */
  const haveOpen = coalescing(
    async (deviceIds: readonly string[]) => {
      const { rows } = await pool.query<{ device_id: string }>(
        `SELECT DISTINCT device_id FROM device_commands
          WHERE device_id = ANY($1::text[]) AND status IN ('queued', 'delivered')`,
        [deviceIds],
      );
      const open = new Set(rows.map((r) => r.device_id));
      return deviceIds.map((id) => open.has(id));
    },
    { onFailure: 'alone', maxItems: OPEN_PROBE_BATCH, lingerMs: HEARTBEAT_LINGER_MS },
  );

  async function statusEvent(
    client: ClientBase,
    r: { commandId: string; deviceId: string; status: CommandState; detail: string; attempts: number },
    at: Date,
    compoundId?: string,
  ): Promise<void> {
    await outboxEventPublisher(client, producer).publish(
      topics.deviceCommandStatus,
      {
        commandId: r.commandId,
        deviceId: r.deviceId,
        status: COMMAND_STATUS_VALUE[r.status],
        detail: r.detail,
        attempts: r.attempts,
      },
      { occurredAt: at, ...(compoundId ? { compoundId } : {}) },
    );
  }

  async function enqueueIn(
    client: ClientBase,
    command: DeviceCommandInit,
    options: { now?: Date; compoundId?: string } = {},
  ): Promise<boolean> {
    const now = options.now ?? new Date();
    const commandId = command.commandId || uuidv7();
    const deviceId = command.deviceId ?? '';
    const kind = commandKindOf(command) ?? 'unknown';
    const full = { ...command, commandId };
    const { rowCount } = await client.query(
      `INSERT INTO device_commands (command_id, device_id, kind, command, status, requested_by, created_at, expires_at, updated_at)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $6) ON CONFLICT (command_id) DO NOTHING`,
      [commandId, deviceId, kind, commandJson(full), command.requestedBy ?? '', now, expiresAt(command, now)],
    );
    if (!rowCount) return false;
    await statusEvent(
      client,
      { commandId, deviceId, status: 'queued', detail: '', attempts: 0 },
      now,
      options.compoundId,
    );
    return true;
  }

  async function expireRows(
    client: ClientBase,
    rows: { command_id: string; device_id: string; attempts: number }[],
    now: Date,
  ) {
    for (const r of rows)
      await statusEvent(
        client,
        {
          commandId: r.command_id,
          deviceId: r.device_id,
          status: 'expired',
          detail: 'deadline passed',
          attempts: r.attempts,
        },
        now,
      );
  }

  return {
    enqueue(command, options) {
      return withTransaction(pool, (tx) => enqueueIn(tx, command, options));
    },
    enqueueIn,

    async reject(command, detail, now = new Date()) {
      const commandId = command.commandId || uuidv7();
      await withTransaction(pool, async (tx) => {
        const { rowCount } = await tx.query(
          `INSERT INTO device_commands (command_id, device_id, kind, command, status, detail, requested_by, created_at, expires_at, finished_at, updated_at)
           VALUES ($1, $2, $3, $4, 'rejected', $5, $6, $7, $7, $7, $7) ON CONFLICT (command_id) DO NOTHING`,
          [
            commandId,
            command.deviceId ?? '',
            commandKindOf(command) ?? 'unknown',
            commandJson({ ...command, commandId }),
            detail,
            command.requestedBy ?? '',
            now,
          ],
        );
        if (rowCount)
          await statusEvent(
            tx,
            { commandId, deviceId: command.deviceId ?? '', status: 'rejected', detail, attempts: 0 },
            now,
          );
      });
    },

    async deliver(deviceId, options = {}) {
      const now = options.now ?? new Date();
      // The common case (nothing waiting) is a read shared with other heartbeats, no transaction.
      const [open] = await haveOpen([deviceId]);
      if (!open) return [];
      return withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{
          command_id: string;
          device_id: string;
          command: Record<string, unknown>;
          status: CommandState;
          attempts: number;
          expires_at: Date;
        }>(
          `SELECT command_id, device_id, command, status, attempts, expires_at FROM device_commands
            WHERE device_id = $1 AND status IN ('queued', 'delivered')
            ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [deviceId, options.limit ?? 20],
        );
        const overdue = rows.filter((r) => r.expires_at.getTime() <= now.getTime());
        const due = rows.filter((r) => r.expires_at.getTime() > now.getTime());
        if (overdue.length) {
          await tx.query(
            `UPDATE device_commands SET status = 'expired', detail = 'deadline passed', finished_at = $2, updated_at = $2
              WHERE command_id = ANY($1::text[])`,
            [overdue.map((r) => r.command_id), now],
          );
          await expireRows(tx, overdue, now);
        }
        if (due.length) {
          await tx.query(
            `UPDATE device_commands SET status = 'delivered', attempts = attempts + 1,
                    delivered_at = COALESCE(delivered_at, $2), updated_at = $2
              WHERE command_id = ANY($1::text[])`,
            [due.map((r) => r.command_id), now],
          );
          for (const r of due)
            if (r.status === 'queued')
              await statusEvent(
                tx,
                {
                  commandId: r.command_id,
                  deviceId,
                  status: 'delivered',
                  detail: '',
                  attempts: r.attempts + 1,
                },
                now,
                options.compoundId,
              );
        }
        return due.map((r) => ({ commandId: r.command_id, command: r.command }));
      });
    },

    acknowledge(deviceId, commandId, result, detail, now = new Date()) {
      return withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ status: CommandState; attempts: number }>(
          'SELECT status, attempts FROM device_commands WHERE command_id = $1 AND device_id = $2 FOR UPDATE',
          [commandId, deviceId],
        );
        const row = rows[0];
        if (!row) return { outcome: 'not-found' as const };
        if (row.status !== 'queued' && row.status !== 'delivered')
          return { outcome: 'already-final' as const, status: row.status };
        await tx.query(
          `UPDATE device_commands SET status = $2, detail = $3, finished_at = $4, updated_at = $4 WHERE command_id = $1`,
          [commandId, result, detail, now],
        );
        await statusEvent(tx, { commandId, deviceId, status: result, detail, attempts: row.attempts }, now);
        return { outcome: 'applied' as const, status: result };
      });
    },

    expireDue(now = new Date(), limit = 500) {
      return withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ command_id: string; device_id: string; attempts: number }>(
          `UPDATE device_commands SET status = 'expired', detail = 'deadline passed', finished_at = $1, updated_at = $1
            WHERE command_id IN (SELECT command_id FROM device_commands
                                  WHERE status IN ('queued', 'delivered') AND expires_at <= $1
                                  ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING command_id, device_id, attempts`,
          [now, limit],
        );
        await expireRows(tx, rows, now);
        return rows.length;
      });
    },

    async get(commandId) {
      const { rows } = await pool.query<{
        command_id: string;
        device_id: string;
        kind: string;
        status: CommandState;
        attempts: number;
        detail: string;
        command: Record<string, unknown>;
      }>('SELECT * FROM device_commands WHERE command_id = $1', [commandId]);
      const r = rows[0];
      return r
        ? {
            commandId: r.command_id,
            deviceId: r.device_id,
            kind: r.kind,
            status: r.status,
            attempts: r.attempts,
            detail: r.detail,
            command: r.command,
          }
        : undefined;
    },

    async openDeviceIds(limit = 1000) {
      const { rows } = await pool.query<{ device_id: string }>(
        `SELECT DISTINCT device_id FROM device_commands WHERE status IN ('queued', 'delivered') LIMIT $1`,
        [limit],
      );
      return rows.map((r) => r.device_id);
    },

    async withOpen(client, deviceIds, kind) {
      if (deviceIds.length === 0) return new Set();
      const { rows } = await client.query<{ device_id: string }>(
        `SELECT DISTINCT device_id FROM device_commands
          WHERE device_id = ANY($1::text[]) AND kind = $2 AND status IN ('queued', 'delivered')`,
        [deviceIds, kind],
      );
      return new Set(rows.map((r) => r.device_id));
    },
  };
}
