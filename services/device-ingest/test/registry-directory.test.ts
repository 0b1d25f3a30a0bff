/**
 * The in-memory DeviceDirectory against the real registry table: NOTIFY keeps it current, the
 * full refresh catches what a notification missed, secrets decrypt on demand, 20 000 devices fit.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import { createFieldCipher, generateKey, parseDataKeys } from '@anfang/platform/crypto';
import { createLogger } from '@anfang/platform/log';
import { createPool, migrate, type Pool } from '@anfang/platform/pg';
import { createTestDatabase, waitFor, type TestDatabase } from '@anfang/testing';
import { startDeviceDirectory, type LoadedDeviceDirectory } from '../src/devices/directory.ts';
import { createRegistryStore, secretAad, type RegistryStore } from '../src/store/registry.ts';

const { DeviceType, Module } = anfang.common.v1;
const { DeviceProtocol } = anfang.device.v1;
const cipher = createFieldCipher(parseDataKeys(`k1:${generateKey()}`));
const logger = createLogger({ service: 'device-ingest', level: 'warn' });
const compoundId = '370303001001007';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Heap in use after a full GC: what is kept, not the garbage of loading it. */
const liveHeap = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

let db: TestDatabase;
let pool: Pool;
let registry: RegistryStore;
let directory: LoadedDeviceDirectory;

beforeAll(async () => {
  db = await createTestDatabase('device_directory');
  pool = createPool({ url: db.url, applicationName: 'device-directory-test' });
  await migrate(pool, { dir: new URL('../src/store/migrations', import.meta.url) });
  registry = createRegistryStore({ pool, cipher, producer: 'device-ingest' });
  directory = await startDeviceDirectory({
    pool,
    databaseUrl: db.url,
    cipher,
    logger,
    refreshIntervalMs: 3_600_000,
  });
});

afterAll(async () => {
  await directory?.close();
  await pool?.end();
  await db?.drop();
});

const plateCamera = (n: number, extra: Record<string, unknown> = {}) => ({
  name: `道闸 ${n}`,
  deviceType: DeviceType.DEVICE_TYPE_PLATE_CAMERA,
  module: Module.MODULE_VEHICLE_ACCESS,
  compoundId,
  protocol: DeviceProtocol.DEVICE_PROTOCOL_HIKVISION_ISAPI,
  ipAddress: `10.30.0.${n}`,
  serialNumber: `DS-${n}`,
  ...extra,
});

describe('device directory', () => {
  it('follows registrations, updates, rotations and decommissions through NOTIFY', async () => {
    const { device, secret } = await registry.register(plateCamera(1, { gat1400Id: '37030300001190000777' }));
    const seen = await waitFor(() => directory.byId(device.deviceId));
    expect(seen).toMatchObject({
      deviceId: device.deviceId,
      compoundId,
      ipAddress: '10.30.0.1',
      active: true,
    });
    expect(directory.byGat1400Id('37030300001190000777')?.deviceId).toBe(device.deviceId);
    expect(directory.byAddress('10.30.0.1', 'ds-1')?.deviceId).toBe(device.deviceId);
    expect(directory.byAddress('::ffff:10.30.0.1', 'DS-1')?.deviceId).toBe(device.deviceId);
    expect(directory.byAddress('10.30.0.1')?.deviceId).toBe(device.deviceId);
    expect(directory.byAddress('10.30.0.1', 'OTHER')).toBeUndefined();
    expect(await directory.secretOf(device.deviceId)).toBe(secret);

    // A second device behind the same address: the serial decides, no serial is ambiguous.
    const second = await registry.register(plateCamera(2, { ipAddress: '10.30.0.1' }));
    await waitFor(() => directory.byId(second.device.deviceId));
    expect(directory.byAddress('10.30.0.1', 'DS-2')?.deviceId).toBe(second.device.deviceId);
    expect(directory.byAddress('10.30.0.1')).toBeUndefined();

    const rotated = await registry.rotateSecret(device.deviceId);
    await waitFor(async () => (await directory.secretOf(device.deviceId)) === rotated.secret);

    await registry.update(device.deviceId, { gat1400Id: '37030300001190000778' }, ['gat1400_id']);
    await waitFor(() => directory.byGat1400Id('37030300001190000778'));
    expect(directory.byGat1400Id('37030300001190000777')).toBeUndefined();

    await registry.decommission(device.deviceId, 'test');
    await waitFor(() => directory.byId(device.deviceId) === undefined);
    expect(directory.byGat1400Id('37030300001190000778')).toBeUndefined();
    expect(await directory.secretOf(device.deviceId)).toBeUndefined();
    expect(directory.byAddress('10.30.0.1')?.deviceId).toBe(second.device.deviceId);
  });

  it('catches changes that sent no notification on the full refresh', async () => {
    const { device } = await registry.register(plateCamera(3));
    await waitFor(() => directory.byId(device.deviceId));
    await pool.query('ALTER TABLE devices DISABLE TRIGGER devices_notify');
    try {
      await pool.query(`UPDATE devices SET name = 'renamed quietly' WHERE device_id = $1`, [device.deviceId]);
      await new Promise((r) => setTimeout(r, 300));
      expect(directory.byId(device.deviceId)?.name).toBe('道闸 3');
      await directory.refresh();
      expect(directory.byId(device.deviceId)?.name).toBe('renamed quietly');
    } finally {
      await pool.query('ALTER TABLE devices ENABLE TRIGGER devices_notify');
    }
  });

  it('holds 20 000 devices compactly', async () => {
    const sample = await registry.register(plateCamera(4));
    const { rows } = await pool.query<{ address: unknown }>(
      'SELECT address FROM devices WHERE device_id = $1',
      [sample.device.deviceId],
    );
    // Each secret sealed to its device's id, as the registry does.
    const secrets = Array.from({ length: 20_000 }, (_, i) =>
      cipher.encrypt(
        `secret-${i + 1}`,
        secretAad(`${(i + 1).toString(16).padStart(8, '0')}-0000-7000-8000-000000000000`),
      ),
    );
    await pool.query('ALTER TABLE devices DISABLE TRIGGER devices_notify');
    try {
      await pool.query(
        `INSERT INTO devices (device_id, gat1400_id, name, device_type, module, compound_id, address, zone_id, direction,
                              vendor, model, serial_number, protocol, ip_address, secret_ciphertext, search_text)
         SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-000000000000', '3703030000119' || lpad(i::text, 7, '0'),
                'camera ' || i, 5, 9, '370303001001' || lpad((i % 1000)::text, 3, '0'), $1::jsonb, 'zone-' || (i % 50), 0,
                'Hikvision', 'DS-2CD2T47', 'SN' || i, 2,
                ('10.' || (i / 65536) || '.' || ((i / 256) % 256) || '.' || (i % 256))::inet, ($2::text[])[i], ''
           FROM generate_series(1, 20000) AS i`,
        [JSON.stringify(rows[0]!.address), secrets],
      );
    } finally {
      await pool.query('ALTER TABLE devices ENABLE TRIGGER devices_notify');
    }
    const before = liveHeap();
    await directory.refresh();
    const loaded = liveHeap() - before;
    expect(directory.size).toBeGreaterThanOrEqual(20_000);
    expect(directory.byGat1400Id('37030300001190012345')?.name).toBe('camera 12345');
    expect(directory.byAddress('10.0.48.57')?.name).toBe('camera 12345');
    // Every device sends: each secret decrypted once and kept, asked for by a request's own copy of the id.
    for (const device of [...directory.all()]) await directory.secretOf(`${device.deviceId} `.trimEnd());
    const withSecrets = liveHeap() - before;
    console.log(
      `directory: ${directory.size} devices, live heap ${(loaded / 2 ** 20).toFixed(1)} MiB loaded, ` +
        `${(withSecrets / 2 ** 20).toFixed(1)} MiB with every secret (${Math.round(withSecrets / directory.size)} B per device)`,
    );
    // The frozen record, its strings, the entry, the secret and the index slots: about 0.7 KB (1 KB
    // with a copy of the id per map, a string per row version and an LRU of secrets beside).
    expect(withSecrets / directory.size).toBeLessThan(800);
  });
});
