/**
 * The quarantine (migration 0011 + the object store): what a device sent that was refused for
 * a client mistake, kept for inspection. The payload goes to `quarantine/<date>/<id>` first, then
 * the row; if the object store fails the row is still written (object_key null) so the refusal is
 * never lost from view. Kept QUARANTINE_RETENTION_DAYS, then swept (payload, then row).
 */
import { uuidv7 } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import type { ObjectStore } from '@anfang/platform/objects';
import { withTransaction, type Pool } from '@anfang/platform/pg';
import { quarantineKey } from '../domain/image-keys.ts';
import type { QuarantineInput, QuarantineStore } from '../ingest/types.ts';

export interface QuarantineDeps {
  readonly pool: Pool;
  readonly objects: ObjectStore;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/**
 * Header-safe metadata value: printable ASCII, bounded, no blanks at either end (the object
 * store refuses those, and the payload would go unkept).
 */
export const meta = (v: string): string =>
  v
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 200)
    .trim() || '-';

/** Postgres text holds no NUL: a refused payload's reason may quote one from the payload. */
export const pgText = (v: string): string => v.replaceAll('\u0000', '\\0');

export function createQuarantine({
  pool,
  objects,
  logger,
  now = () => new Date(),
}: QuarantineDeps): QuarantineStore {
  const log = logger.child({ component: 'quarantine' });
  return {
    async keep(input: QuarantineInput) {
      const receivedAt = now();
      const id = uuidv7(receivedAt.getTime());
      let objectKey: string | null = quarantineKey(receivedAt, id);
      try {
        await objects.put(objectKey, input.body, {
          // Stored opaque: some S3 servers treat a multipart/form-data object upload as a form post
          // and read no body. The original content type is in the row.
          contentType: 'application/octet-stream',
          metadata: {
            protocol: meta(input.protocol),
            reason: meta(input.reason),
            ...(input.deviceId ? { 'device-id': meta(input.deviceId) } : {}),
          },
        });
      } catch (err) {
        log.warn({ err, id }, 'quarantined payload not stored');
        objectKey = null;
      }
      await pool.query(
        `INSERT INTO quarantine (id, received_at, protocol, reason, http_status, device_id, remote_address, path, content_type, size_bytes, object_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          id,
          receivedAt,
          input.protocol,
          pgText(input.reason),
          input.status,
          input.deviceId === undefined ? null : pgText(input.deviceId),
          pgText(input.remoteAddress),
          pgText(input.path).slice(0, 2048),
          pgText(input.contentType).slice(0, 255),
          input.size ?? input.body.length,
          objectKey,
        ],
      );
      return id;
    },

    async sweep(cutoff, batchSize = 500) {
      let deleted = 0;
      for (;;) {
        // Claimed rows stay until their payloads are gone: a failed object delete rolls back
        // and the next sweep tries again, so no payload outlives its row unnoticed.
        const batch = await withTransaction(pool, async (client) => {
          const { rows } = await client.query<{ id: string; object_key: string | null }>(
            `SELECT id, object_key FROM quarantine WHERE received_at < $1
             ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
            [cutoff, batchSize],
          );
          if (rows.length === 0) return 0;
          const keys = rows.flatMap((r) => (r.object_key ? [r.object_key] : []));
          if (keys.length > 0) await objects.delete(keys);
          await client.query('DELETE FROM quarantine WHERE id = ANY($1::text[])', [rows.map((r) => r.id)]);
          return rows.length;
        });
        deleted += batch;
        if (batch < batchSize) break;
      }
      if (deleted > 0) log.info({ deleted, cutoff: cutoff.toISOString() }, 'quarantine swept');
      return deleted;
    },
  };
}

export interface QuarantineSweeperOptions {
  readonly quarantine: QuarantineStore;
  readonly retentionMs: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** Sweeps the quarantine now and then every intervalMs; stop() waits for a sweep under way. */
export function startQuarantineSweeper(options: QuarantineSweeperOptions): { stop(): Promise<void> } {
  const now = options.now ?? (() => new Date());
  let running: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    running = options.quarantine
      .sweep(new Date(now().getTime() - options.retentionMs))
      .catch((err: unknown) =>
        options.logger.warn({ err }, 'quarantine sweep failed; retried next interval'),
      );
  };
  sweep();
  const timer = setInterval(sweep, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
