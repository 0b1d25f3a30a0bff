/**
 * The offline allow-list sync: claims compounds the registry triggers marked (migration 0004),
 * computes each reader's list, and sends each reader what changed as DeviceCommands
 * (access_list_update) through the outbox — in one transaction per compound with the lists'
 * new fingerprints and versions, so a crash sends nothing twice and loses nothing (the mark
 * stays until the commit). Replicas share the work: a compound is claimed with SKIP LOCKED.
 */
import { randomUUID } from 'node:crypto';
import { anfang, timestampFromMillis, topics } from '@anfang/contracts';
import type { BlindIndex, FieldCipher } from '@anfang/platform/crypto';
import { outboxEventPublisher, withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
import {
  entryContent,
  mergeGrants,
  planListUpdate,
  type HeldList,
  type ListEntry,
  type ListedKind,
} from '../domain/access-list.ts';
import { credentialKinds } from '../domain/enums.ts';

const { AccessListOperation } = anfang.device.v1;
const { ImageKind } = anfang.common.v1;

/** Blind-index scope of list fingerprints. */
const FINGERPRINT_SCOPE = 'access-list-entry';
/** Commands wait this long for an offline reader; an expired update marks the list for a full resend. */
const COMMAND_TTL_MS = 7 * 24 * 3_600_000;

export interface AccessListSyncOptions {
  readonly pool: Pool;
  readonly cipher: FieldCipher;
  readonly blindIndex: BlindIndex;
  /** The service name, the producer of the commands. */
  readonly producer: string;
  /** Entries per command (a Kafka message stays well under its size limit). */
  readonly maxEntriesPerCommand: number;
}

export interface SyncResult {
  readonly compounds: number;
  readonly commands: number;
}

export interface AccessListSync {
  /** Syncs every marked compound (until none is left, or the signal aborts). */
  run(now: Date, signal?: AbortSignal): Promise<SyncResult>;
  /**
   * A command's delivery ended without success: when it was an access-list update, the reader's
   * list is marked for a full resend (it may have missed any part). True when it was one.
   */
  commandLost(commandId: string): Promise<boolean>;
  /** Marks every compound (the periodic safety net). */
  markAll(): Promise<number>;
}

interface DesiredRow {
  device_id: string;
  credential_id: string;
  person_id: string;
  kind: ListedKind;
  value_enc: string | null;
  face_template_id: string | null;
  face_image_key: string | null;
  valid_from: Date | null;
  valid_to: Date | null;
}

export function createAccessListSync(options: AccessListSyncOptions): AccessListSync {
  const { pool, cipher, blindIndex, producer, maxEntriesPerCommand } = options;
  const fingerprint = (entry: ListEntry) => blindIndex(entryContent(entry), FINGERPRINT_SCOPE);

  /** Every credential reaching each reader of the compound, one row per grant. */
  async function desired(
    client: ClientBase,
    compoundId: string,
    now: Date,
  ): Promise<Map<string, ListEntry[]>> {
    const { rows } = await client.query<DesiredRow>(
      `SELECT dd.device_id, c.credential_id, c.person_id, c.kind, c.value_enc, c.face_template_id, c.face_image_key,
              CASE WHEN c.valid_from IS NULL OR c.valid_from < g.valid_from THEN g.valid_from ELSE c.valid_from END
                AS valid_from,
              CASE WHEN g.valid_to IS NULL THEN c.valid_to WHEN c.valid_to IS NULL THEN g.valid_to
                   ELSE least(g.valid_to, c.valid_to) END AS valid_to
         FROM doors d
         JOIN door_devices dd ON dd.door_id = d.door_id
         JOIN door_group_doors dgd ON dgd.door_id = d.door_id
         JOIN grants g ON g.door_group_id = dgd.door_group_id AND g.revoked_at IS NULL AND g.schedule IS NULL
                      AND (g.valid_to IS NULL OR g.valid_to > $2)
         JOIN persons p ON p.person_id = g.person_id AND p.removed_at IS NULL
         JOIN credentials c ON c.person_id = p.person_id AND c.revoked_at IS NULL
                           AND (c.valid_to IS NULL OR c.valid_to > $2)
                           AND (c.kind = 'face' OR (c.kind IN ('card', 'nfc') AND c.value_enc IS NOT NULL))
        WHERE d.compound_id = $1`,
      [compoundId, now],
    );
    const byDevice = new Map<string, ListEntry[]>();
    for (const row of rows) {
      // A grant and a credential whose windows do not meet give nothing.
      if (row.valid_from && row.valid_to && row.valid_from >= row.valid_to) continue;
      const entry: ListEntry = {
        credentialId: row.credential_id,
        personId: row.person_id,
        kind: row.kind,
        value:
          row.kind === 'face'
            ? (row.face_template_id ?? '')
            : cipher.decryptString(row.value_enc!, row.credential_id),
        faceImageKey: row.face_image_key ?? undefined,
        validFrom: row.valid_from ?? undefined,
        validTo: row.valid_to ?? undefined,
      };
      const list = byDevice.get(row.device_id);
      if (list) list.push(entry);
      else byDevice.set(row.device_id, [entry]);
    }
    return byDevice;
  }

  /** The lists the readers hold, locked for this transaction. */
  async function held(
    client: ClientBase,
    compoundId: string,
    devices: string[],
  ): Promise<Map<string, HeldList>> {
    const { rows: lists } = await client.query<{ device_id: string; version: string; needs_full: boolean }>(
      `SELECT device_id, version, needs_full FROM access_lists
        WHERE compound_id = $1 OR device_id = ANY($2) ORDER BY device_id FOR UPDATE`,
      [compoundId, devices],
    );
    const { rows: entries } = await client.query<{
      device_id: string;
      credential_id: string;
      fingerprint: string;
    }>('SELECT device_id, credential_id, fingerprint FROM access_list_entries WHERE device_id = ANY($1)', [
      lists.map((l) => l.device_id),
    ]);
    const prints = new Map<string, Map<string, string>>();
    for (const e of entries) {
      const map = prints.get(e.device_id) ?? new Map<string, string>();
      map.set(e.credential_id, e.fingerprint);
      prints.set(e.device_id, map);
    }
    return new Map(
      lists.map((l) => [
        l.device_id,
        {
          version: Number(l.version),
          needsFull: l.needs_full,
          fingerprints: prints.get(l.device_id) ?? new Map(),
        },
      ]),
    );
  }

  const toProtoEntry = (entry: ListEntry) => ({
    entryId: entry.credentialId,
    operation: AccessListOperation.ACCESS_LIST_OPERATION_UPSERT,
    personId: entry.personId,
    credentialType: credentialKinds.toProto(entry.kind),
    credentialValue: entry.value,
    ...(entry.faceImageKey
      ? {
          faceImage: {
            objectKey: entry.faceImageKey,
            contentType: 'image/jpeg',
            kind: ImageKind.IMAGE_KIND_FACE,
          },
        }
      : {}),
    validity: {
      ...(entry.validFrom ? { startTime: timestampFromMillis(entry.validFrom.getTime()) } : {}),
      ...(entry.validTo ? { endTime: timestampFromMillis(entry.validTo.getTime()) } : {}),
    },
  });

  async function syncCompound(client: ClientBase, compoundId: string, now: Date): Promise<number> {
    const wanted = await desired(client, compoundId, now);
    const { rows: readers } = await client.query<{ device_id: string }>(
      'SELECT dd.device_id FROM door_devices dd JOIN doors d ON d.door_id = dd.door_id WHERE d.compound_id = $1',
      [compoundId],
    );
    const lists = await held(
      client,
      compoundId,
      readers.map((r) => r.device_id),
    );
    // Readers of the compound, and readers that held a list here but left (they are cleared).
    const devices = [...new Set([...readers.map((r) => r.device_id), ...lists.keys()])].sort();
    const publisher = outboxEventPublisher(client, producer);
    let commands = 0;
    for (const deviceId of devices) {
      const current = lists.get(deviceId) ?? { version: 0, needsFull: true, fingerprints: new Map() };
      const plan = planListUpdate(
        mergeGrants(wanted.get(deviceId) ?? []),
        current,
        fingerprint,
        maxEntriesPerCommand,
      );
      if (plan.chunks.length === 0) continue;
      for (const chunk of plan.chunks) {
        const commandId = randomUUID();
        await client.query(
          'INSERT INTO access_list_commands (command_id, device_id, sent_at) VALUES ($1, $2, $3)',
          [commandId, deviceId, now],
        );
        await publisher.publish(
          topics.deviceCommand,
          {
            commandId,
            deviceId,
            accessListUpdate: {
              listVersion: chunk.version,
              fullReplace: chunk.fullReplace,
              entries: [
                ...chunk.removals.map((credentialId) => ({
                  entryId: credentialId,
                  operation: AccessListOperation.ACCESS_LIST_OPERATION_REMOVE,
                })),
                ...chunk.upserts.map(toProtoEntry),
              ],
            },
            requestedBy: producer,
            reason: chunk.fullReplace ? 'offline allow list (full)' : 'offline allow list (changes)',
            expiresAt: timestampFromMillis(now.getTime() + COMMAND_TTL_MS),
          },
          { compoundId },
        );
        commands++;
      }
      await client.query(
        `INSERT INTO access_lists (device_id, compound_id, version, needs_full, updated_at)
         VALUES ($1, $2, $3, false, $4)
         ON CONFLICT (device_id) DO UPDATE SET compound_id = excluded.compound_id, version = excluded.version,
           needs_full = false, updated_at = excluded.updated_at`,
        [deviceId, compoundId, plan.version, now],
      );
      await client.query('DELETE FROM access_list_entries WHERE device_id = $1', [deviceId]);
      await client.query(
        `INSERT INTO access_list_entries (device_id, credential_id, fingerprint)
         SELECT $1, unnest($2::uuid[]), unnest($3::text[])`,
        [deviceId, [...plan.fingerprints.keys()], [...plan.fingerprints.values()]],
      );
    }
    return commands;
  }

  return {
    async run(now, signal) {
      let compounds = 0;
      let commands = 0;
      while (!signal?.aborted) {
        const done = await withTransaction(pool, async (client) => {
          const { rows } = await client.query<{ compound_id: string }>(
            `DELETE FROM access_list_dirty WHERE compound_id = (
               SELECT compound_id FROM access_list_dirty ORDER BY since LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING compound_id`,
          );
          if (!rows[0]) return undefined;
          return syncCompound(client, rows[0].compound_id, now);
        });
        if (done === undefined) break;
        compounds++;
        commands += done;
      }
      await pool.query('DELETE FROM access_list_commands WHERE sent_at < $1', [
        new Date(now.getTime() - 2 * COMMAND_TTL_MS),
      ]);
      return { compounds, commands };
    },

    async commandLost(commandId) {
      return withTransaction(pool, async (client) => {
        const { rows } = await client.query<{ compound_id: string }>(
          `UPDATE access_lists l SET needs_full = true FROM access_list_commands c
            WHERE c.command_id = $1 AND l.device_id = c.device_id RETURNING l.compound_id`,
          [commandId],
        );
        if (!rows[0]) return false;
        await client.query('INSERT INTO access_list_dirty (compound_id) VALUES ($1) ON CONFLICT DO NOTHING', [
          rows[0].compound_id,
        ]);
        return true;
      });
    },

    async markAll() {
      const { rowCount } = await pool.query(
        `INSERT INTO access_list_dirty (compound_id)
         SELECT DISTINCT d.compound_id FROM doors d JOIN door_devices dd ON dd.door_id = d.door_id
         ON CONFLICT DO NOTHING`,
      );
      return rowCount ?? 0;
    },
  };
}
