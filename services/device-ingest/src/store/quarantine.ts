/**
 * The quarantine (migration 0011 + the object store): what a device sent that was refused for
 * a client mistake, kept for inspection. The payload goes to `quarantine/<date>/<id>` first, then
 * the row; if the object store fails the row is still written (object_key null) so the refusal is
 * never lost from view.
 */
import { uuidv7 } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import type { ObjectStore } from '@anfang/platform/objects';
import type { Pool } from '@anfang/platform/pg';
import { quarantineKey } from '../domain/image-keys.ts';
import type { Quarantine, QuarantineInput } from '../ingest/types.ts';

export interface QuarantineDeps {
  readonly pool: Pool;
  readonly objects: ObjectStore;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** Header-safe metadata value (printable ASCII, bounded). */
const meta = (v: string): string => v.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);

export function createQuarantine({
  pool,
  objects,
  logger,
  now = () => new Date(),
}: QuarantineDeps): Quarantine {
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
          input.reason,
          input.status,
          input.deviceId ?? null,
          input.remoteAddress,
          input.path.slice(0, 2048),
          input.contentType.slice(0, 255),
          input.size ?? input.body.length,
          objectKey,
        ],
      );
      return id;
    },
  };
}
