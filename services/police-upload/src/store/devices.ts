/**
 * The registry devices police-upload describes to upper platforms (table registry_device). A
 * registry event older than the revision held is ignored (the compacted topic may redeliver).
 * Lookups for plate reads are cached briefly: one query per read would cost the hot path.
 */
import type { ClientBase, Pool } from '@anfang/platform/pg';
import type { DeviceRecord } from '../domain/devices.ts';

const CACHE_MS = 10_000;

export interface DeviceStore {
  /** Stores the registry state; undefined when an older revision than the one held. */
  upsert(device: DeviceRecord): Promise<DeviceRecord | undefined>;
  /** Records the online state; the device, or undefined when the registry has not named it. */
  setOnline(deviceId: string, online: boolean): Promise<DeviceRecord | undefined>;
  /** The device as recently read (cached), undefined when unknown. */
  cached(deviceId: string): Promise<DeviceRecord | undefined>;
}

interface Row {
  device_id: string;
  gat1400_id: string;
  name: string;
  device_type: number;
  module: number;
  compound_id: string;
  address_code: string;
  place: string;
  model: string;
  ip_address: string;
  active: boolean;
  online: boolean | null;
  revision: string;
}

const COLUMNS = `device_id, gat1400_id, name, device_type, module, compound_id, address_code, place, model,
  ip_address, active, online, revision`;

const fromRow = (r: Row): DeviceRecord => ({
  deviceId: r.device_id,
  gat1400Id: r.gat1400_id,
  name: r.name,
  deviceType: r.device_type,
  module: r.module,
  compoundId: r.compound_id,
  addressCode: r.address_code,
  place: r.place,
  model: r.model,
  ipAddress: r.ip_address,
  active: r.active,
  ...(r.online === null ? {} : { online: r.online }),
  revision: Number(r.revision),
});

/** The active devices of these compounds (every compound when none given), with when their state changed. */
export async function devicesIn(
  client: Pick<ClientBase, 'query'>,
  compounds: readonly string[],
): Promise<{ device: DeviceRecord; changedAt: Date }[]> {
  const { rows } = await client.query<Row & { updated_at: Date }>(
    `SELECT ${COLUMNS}, updated_at FROM registry_device
     WHERE active AND (cardinality($1::text[]) = 0 OR compound_id = ANY($1::text[])) ORDER BY device_id`,
    [compounds],
  );
  return rows.map((r) => ({ device: fromRow(r), changedAt: r.updated_at }));
}

export function createDeviceStore(pool: Pool): DeviceStore {
  const cache = new Map<string, { at: number; device: DeviceRecord | undefined }>();
  const remember = (id: string, device: DeviceRecord | undefined) => {
    cache.set(id, { at: Date.now(), device });
    return device;
  };
  return {
    async upsert(d) {
      const { rows } = await pool.query<Row>(
        `INSERT INTO registry_device (device_id, gat1400_id, name, device_type, module, compound_id, address_code,
           place, model, ip_address, active, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (device_id) DO UPDATE SET gat1400_id = EXCLUDED.gat1400_id, name = EXCLUDED.name,
           device_type = EXCLUDED.device_type, module = EXCLUDED.module, compound_id = EXCLUDED.compound_id,
           address_code = EXCLUDED.address_code, place = EXCLUDED.place, model = EXCLUDED.model,
           ip_address = EXCLUDED.ip_address, active = EXCLUDED.active, revision = EXCLUDED.revision,
           updated_at = now()
         WHERE registry_device.revision <= EXCLUDED.revision
         RETURNING ${COLUMNS}`,
        [
          d.deviceId,
          d.gat1400Id,
          d.name,
          d.deviceType,
          d.module,
          d.compoundId,
          d.addressCode,
          d.place,
          d.model,
          d.ipAddress,
          d.active,
          d.revision,
        ],
      );
      const stored = rows[0] && fromRow(rows[0]);
      if (stored) remember(d.deviceId, stored);
      return stored;
    },
    async setOnline(deviceId, online) {
      const { rows } = await pool.query<Row>(
        `UPDATE registry_device SET online = $2, updated_at = now() WHERE device_id = $1 RETURNING ${COLUMNS}`,
        [deviceId, online],
      );
      return remember(deviceId, rows[0] && fromRow(rows[0]));
    },
    async cached(deviceId) {
      const hit = cache.get(deviceId);
      if (hit && Date.now() - hit.at < CACHE_MS) return hit.device;
      const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM registry_device WHERE device_id = $1`, [
        deviceId,
      ]);
      return remember(deviceId, rows[0] && fromRow(rows[0]));
    },
  };
}
