/**
 * The DeviceDirectory (src/ingest/types.ts): every active device in memory, indexed by id, GA/T
 * 1400 id and address (+ serial), so that authenticating a request costs no query. It stays
 * current by LISTEN device_registry (the registry's row trigger notifies every change with the
 * device id; the device is reloaded) and by a periodic refresh as a safety net for missed
 * notifications (a reconnect, a restore, a change made in SQL): it reads every active device's
 * row version (`xmin`, which every update of the row changes) and reloads those whose version is
 * not the one in memory. Secrets stay encrypted in the entries and are decrypted on a device's
 * first request into its entry (a change of the device replaces the entry): decrypting on every
 * request cost 1.5 % of the CPU per event. Plaintext in memory exposes nothing new: the key ring
 * that decrypts every entry is in the same process.
 *
 * Memory, per device: its frozen RegisteredDevice, the entry (ciphertext, row version, secret once
 * decrypted) and the index slots, every map keyed by the device's own id string. Strings that
 * repeat across devices (compound, zone, vendor, model) are shared, not one copy per row as pg
 * reads them. An LRU of secrets beside the entries (its own map, keyed by each request's copy of
 * the id, with delete + set on every hit) took 1.8 MiB of hash table and a key per device.
 */
import pg from 'pg';
import type { FieldCipher } from '@anfang/platform/crypto';
import type { Logger } from '@anfang/platform/log';
import type { Pool } from '@anfang/platform/pg';
import type { RegisteredDevice } from '../domain/device.ts';
import { toRegisteredDevice } from '../domain/registry-proto.ts';
import type { DeviceDirectory } from '../ingest/types.ts';
import { DEVICE_COLUMNS, rowToRecord, secretAad, type DeviceRow } from '../store/registry.ts';

export const REGISTRY_CHANNEL = 'device_registry';

export interface DeviceDirectoryOptions {
  readonly pool: Pool;
  /** Connection string for the LISTEN session (a dedicated connection outside the pool). */
  readonly databaseUrl: string;
  readonly cipher: FieldCipher;
  readonly logger: Logger;
  /** Full reload period. Default 60 s. */
  readonly refreshIntervalMs?: number;
}

export interface LoadedDeviceDirectory extends DeviceDirectory {
  /** Active devices. */
  readonly size: number;
  all(): IterableIterator<RegisteredDevice>;
  /** Reloads everything now. */
  refresh(): Promise<void>;
  /** Reloads one device now (what a notification does). */
  reload(deviceId: string): Promise<void>;
  /** Subscribes to changes (added, changed or removed device ids); returns the unsubscribe. */
  onChange(listener: (deviceId: string) => void): () => void;
  close(): Promise<void>;
}

interface Entry {
  readonly device: RegisteredDevice;
  readonly ciphertext: string;
  /** The row's `xmin` when it was read (a 32-bit transaction id: a number, not a string each). */
  readonly version: number;
  /** The decrypted secret, once a request needed it. */
  secret: string | undefined;
}

type VersionedRow = DeviceRow & { readonly row_version: string };
const VERSIONED_COLUMNS = `${DEVICE_COLUMNS}, xmin::text AS row_version`;

const addressKey = (ip: string, serial: string): string => `${ip}\u0000${serial.toLowerCase()}`;

/** Loads the directory and starts following the registry. */
export async function startDeviceDirectory(options: DeviceDirectoryOptions): Promise<LoadedDeviceDirectory> {
  const { pool, cipher, logger } = options;
  const log = logger.child({ component: 'device-directory' });
  const refreshIntervalMs = options.refreshIntervalMs ?? 60_000;

  let byId = new Map<string, Entry>();
  let byGat = new Map<string, string>();
  let byAddressSerial = new Map<string, string>();
  let byIp = new Map<string, string[]>();
  const listeners = new Set<(deviceId: string) => void>();
  let closed = false;

  const indexInto = (
    maps: { byGat: Map<string, string>; byAddressSerial: Map<string, string>; byIp: Map<string, string[]> },
    device: RegisteredDevice,
  ): void => {
    if (device.gat1400Id) maps.byGat.set(device.gat1400Id, device.deviceId);
    if (device.ipAddress) {
      maps.byAddressSerial.set(addressKey(device.ipAddress, device.serialNumber), device.deviceId);
      const list = maps.byIp.get(device.ipAddress);
      if (list) list.push(device.deviceId);
      else maps.byIp.set(device.ipAddress, [device.deviceId]);
    }
  };

  const unindex = (device: RegisteredDevice): void => {
    if (device.gat1400Id && byGat.get(device.gat1400Id) === device.deviceId) byGat.delete(device.gat1400Id);
    if (device.ipAddress) {
      const key = addressKey(device.ipAddress, device.serialNumber);
      if (byAddressSerial.get(key) === device.deviceId) byAddressSerial.delete(key);
      const list = byIp.get(device.ipAddress)?.filter((id) => id !== device.deviceId);
      if (list && list.length > 0) byIp.set(device.ipAddress, list);
      else byIp.delete(device.ipAddress);
    }
  };

  // Values many devices share, one string each. Only ever grows by a new compound, zone, vendor
  // or model name: a handful per site.
  const shared = new Map<string, string>();
  const share = (value: string): string => {
    const known = shared.get(value);
    if (known !== undefined) return known;
    shared.set(value, value);
    return value;
  };

  const toEntry = (row: VersionedRow): Entry => ({
    device: Object.freeze(
      toRegisteredDevice(
        rowToRecord({
          ...row,
          compound_id: share(row.compound_id),
          zone_id: share(row.zone_id),
          vendor: share(row.vendor),
          model: share(row.model),
        }),
      ),
    ),
    ciphertext: row.secret_ciphertext,
    version: Number(row.row_version),
    secret: undefined,
  });

  const changed = (deviceId: string): void => {
    for (const listener of listeners) {
      try {
        listener(deviceId);
      } catch (error) {
        log.warn({ err: error }, 'device directory listener failed');
      }
    }
  };

  // Devices reloaded while a full refresh was reading: its older snapshot must not undo them.
  let reloadedDuringRefresh: Set<string> | undefined;

  const refresh = async (): Promise<void> => {
    const mine = new Set<string>();
    reloadedDuringRefresh = mine;
    let active: string[];
    let stale: Set<string>;
    let rows: VersionedRow[];
    try {
      // Only devices whose row changed are read in full: reading and converting all 20 000 every
      // minute stalled the event loop for a moment and left 20 000 entries of garbage.
      const { rows: versions } = await pool.query<{ device_id: string; row_version: string }>(
        `SELECT device_id, xmin::text AS row_version FROM devices WHERE lifecycle = 'active'`,
      );
      active = versions.map((v) => v.device_id);
      stale = new Set(
        versions
          .filter((v) => byId.get(v.device_id)?.version !== Number(v.row_version))
          .map((v) => v.device_id),
      );
      ({ rows } =
        stale.size === 0
          ? { rows: [] }
          : await pool.query<VersionedRow>(
              `SELECT ${VERSIONED_COLUMNS} FROM devices WHERE device_id = ANY($1::text[]) AND lifecycle = 'active'`,
              [[...stale]],
            ));
    } finally {
      if (reloadedDuringRefresh === mine) reloadedDuringRefresh = undefined;
    }
    const loaded = new Map(rows.map((row) => [row.device_id, toEntry(row)]));
    const next = new Map<string, Entry>();
    const maps = {
      byGat: new Map<string, string>(),
      byAddressSerial: new Map<string, string>(),
      byIp: new Map<string, string[]>(),
    };
    for (const id of active) {
      // A stale device not read back was decommissioned between the two reads.
      const entry = stale.has(id) ? loaded.get(id) : byId.get(id);
      if (!entry) continue;
      // Keyed by the entry's own id: the listing's copy of the string would be one more per device.
      next.set(entry.device.deviceId, entry);
      indexInto(maps, entry.device);
    }
    const previous = byId;
    byId = next;
    byGat = maps.byGat;
    byAddressSerial = maps.byAddressSerial;
    byIp = maps.byIp;
    for (const id of next.keys()) if (!previous.has(id)) changed(id);
    for (const id of previous.keys()) if (!next.has(id)) changed(id);
    for (const id of mine) await reload(id);
  };

  const reload = async (deviceId: string): Promise<void> => {
    reloadedDuringRefresh?.add(deviceId);
    const { rows } = await pool.query<VersionedRow>(
      `SELECT ${VERSIONED_COLUMNS} FROM devices WHERE device_id = $1`,
      [deviceId],
    );
    const old = byId.get(deviceId);
    if (old) {
      unindex(old.device);
      byId.delete(deviceId);
    }
    const row = rows[0];
    if (row && row.lifecycle === 'active') {
      const entry = toEntry(row);
      byId.set(entry.device.deviceId, entry);
      indexInto({ byGat, byAddressSerial, byIp }, entry.device);
    }
    changed(deviceId);
  };

  await refresh();

  // LISTEN on a dedicated session; on loss, reconnect and reload everything (notifications sent
  // meanwhile are lost).
  let listener: pg.Client | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const client = new pg.Client({
      connectionString: options.databaseUrl,
      application_name: 'device-directory',
    });
    client.on('error', (error) => {
      log.warn({ err: error.message }, 'registry listener connection lost; reconnecting');
      scheduleReconnect();
    });
    client.on('notification', (message) => {
      if (message.channel !== REGISTRY_CHANNEL || !message.payload) return;
      reload(message.payload).catch((error: unknown) =>
        log.warn(
          { err: error, deviceId: message.payload },
          'reloading a device failed; the periodic refresh will catch up',
        ),
      );
    });
    await client.connect();
    await client.query(`LISTEN ${REGISTRY_CHANNEL}`);
    listener = client;
  };
  const scheduleReconnect = (): void => {
    const old = listener;
    listener = undefined;
    old?.end().catch(() => undefined);
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (closed) return;
      connect()
        .then(() => refresh())
        .catch((error: unknown) => {
          log.warn({ err: error }, 'registry listener reconnect failed; retrying');
          scheduleReconnect();
        });
    }, 1_000);
    reconnectTimer.unref();
  };
  await connect();

  const timer = setInterval(() => {
    refresh().catch((error: unknown) => log.warn({ err: error }, 'device directory refresh failed'));
  }, refreshIntervalMs);
  timer.unref();
  log.info({ devices: byId.size }, 'device directory loaded');

  return {
    get size() {
      return byId.size;
    },
    all: () => [...byId.values()].map((e) => e.device)[Symbol.iterator](),
    byId: (deviceId) => byId.get(deviceId)?.device,
    byGat1400Id(gat1400Id) {
      const id = byGat.get(gat1400Id);
      return id === undefined ? undefined : byId.get(id)?.device;
    },
    byAddress(ipAddress, serialNumber) {
      const ip = ipAddress.startsWith('::ffff:') && ipAddress.includes('.') ? ipAddress.slice(7) : ipAddress;
      const at = byIp.get(ip);
      if (!at) return undefined;
      if (serialNumber) {
        const id = byAddressSerial.get(addressKey(ip, serialNumber));
        if (id !== undefined) return byId.get(id)?.device;
        // A device registered without a serial, alone at its address, is still that device.
        const only = at.length === 1 ? byId.get(at[0]!)?.device : undefined;
        return only && only.serialNumber === '' ? only : undefined;
      }
      // Without a serial only an unambiguous address identifies a device.
      return at.length === 1 ? byId.get(at[0]!)?.device : undefined;
    },
    async secretOf(deviceId) {
      const entry = byId.get(deviceId);
      if (!entry) return undefined;
      entry.secret ??= cipher.decryptString(entry.ciphertext, secretAad(entry.device.deviceId));
      return entry.secret;
    },
    refresh,
    reload,
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await listener?.end().catch(() => undefined);
      listener = undefined;
    },
  };
}
