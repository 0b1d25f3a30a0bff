/**
 * The device registry in Postgres (migration 0001). Every change runs in one transaction that
 * writes the row and the DeviceChanged event to the outbox, so a committed change is always
 * published; the row trigger notifies the device directories of every replica.
 */
import { anfang, topics } from '@anfang/contracts';
import { scopeCondition, scopeParams, type CompoundScope } from '@anfang/platform/auth';
import { uuidv7 } from '@anfang/platform/bus';
import type { FieldCipher } from '@anfang/platform/crypto';
import {
  AbortedError,
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  type FieldViolation,
} from '@anfang/platform/grpc';
import {
  outboxEventPublisher,
  sqlState,
  withTransaction,
  type ClientBase,
  type Pool,
} from '@anfang/platform/pg';
import {
  MUTABLE_FIELDS,
  changedFields,
  generateSecret,
  normaliseDevice,
  searchText,
  type AddressFields,
  type DeviceFields,
  type DeviceInput,
  type DeviceRecord,
  type Lifecycle,
  type MutableField,
} from '../domain/registry.ts';
import { deviceToProto, recordToInput } from '../domain/registry-proto.ts';

const { DeviceChangeKind } = anfang.device.v1;
type ChangeKind = anfang.device.v1.DeviceChangeKind;

/** Associated data binding a secret's ciphertext to its device. */
export const secretAad = (deviceId: string): string => `device:${deviceId}:secret`;

export interface DeviceRow {
  device_id: string;
  seq: string;
  gat1400_id: string | null;
  name: string;
  device_type: number;
  module: number;
  compound_id: string;
  address: AddressFields;
  zone_id: string;
  direction: number;
  vendor: string;
  model: string;
  serial_number: string;
  protocol: number;
  ip_address: string | null;
  secret_ciphertext: string;
  lifecycle: Lifecycle;
  registered_at: Date;
  updated_at: Date;
  decommissioned_at: Date | null;
  revision: string;
}

export const DEVICE_COLUMNS = `device_id, seq, gat1400_id, name, device_type, module, compound_id, address, zone_id,
  direction, vendor, model, serial_number, protocol, host(ip_address) AS ip_address, secret_ciphertext, lifecycle,
  registered_at, updated_at, decommissioned_at, revision`;

export function rowToRecord(r: DeviceRow): DeviceRecord {
  return {
    deviceId: r.device_id,
    gat1400Id: r.gat1400_id ?? '',
    name: r.name,
    deviceType: r.device_type,
    module: r.module,
    compoundId: r.compound_id,
    address: r.address,
    zoneId: r.zone_id,
    direction: r.direction,
    vendor: r.vendor,
    model: r.model,
    serialNumber: r.serial_number,
    protocol: r.protocol,
    ipAddress: r.ip_address ?? '',
    lifecycle: r.lifecycle,
    registeredAt: r.registered_at,
    updatedAt: r.updated_at,
    decommissionedAt: r.decommissioned_at,
    revision: Number(r.revision),
  };
}

export interface ListFilter {
  readonly compoundId?: string;
  /** Only the caller's compounds and areas. */
  readonly scope?: CompoundScope;
  readonly deviceType?: number;
  readonly module?: number;
  readonly lifecycle?: Lifecycle;
  readonly protocol?: number;
  readonly text?: string;
}

export interface ListPage {
  readonly devices: DeviceRecord[];
  readonly nextPageToken: string;
  readonly totalSize: number;
}

export type ImportOutcome =
  | { readonly kind: 'created'; readonly device: DeviceRecord; readonly generatedSecret: string }
  | { readonly kind: 'updated'; readonly device: DeviceRecord }
  | { readonly kind: 'unchanged'; readonly device: DeviceRecord };

export interface RegistryStore {
  register(
    input: DeviceInput,
    options?: { deviceId?: string; secret?: string },
  ): Promise<{ device: DeviceRecord; secret: string }>;
  update(
    deviceId: string,
    input: DeviceInput,
    mask: readonly MutableField[],
    expectedRevision?: number,
  ): Promise<DeviceRecord>;
  decommission(deviceId: string, reason: string): Promise<DeviceRecord>;
  rotateSecret(deviceId: string, secret?: string): Promise<{ device: DeviceRecord; secret: string }>;
  get(deviceId: string): Promise<DeviceRecord | undefined>;
  list(filter: ListFilter, pageSize: number, pageToken: string): Promise<ListPage>;
  /** One validated CSV row: matched by device id, else by GA/T id; created, updated or unchanged. */
  importRow(row: { deviceId: string; secret: string; fields: DeviceFields }): Promise<ImportOutcome>;
}

export interface RegistryStoreOptions {
  readonly pool: Pool;
  readonly cipher: FieldCipher;
  /** OTEL_SERVICE_NAME, the events' producer. */
  readonly producer: string;
}

const invalid = (violations: FieldViolation[]): InvalidArgumentError =>
  new InvalidArgumentError(
    `invalid device: ${violations.map((v) => `${v.field} ${v.description}`).join('; ')}`,
    violations,
    { reason: 'DEVICE_INVALID' },
  );

export function createRegistryStore(options: RegistryStoreOptions): RegistryStore {
  const { pool, cipher, producer } = options;

  const publish = async (
    tx: ClientBase,
    change: ChangeKind,
    device: DeviceRecord,
    changed: readonly string[],
  ): Promise<void> => {
    await outboxEventPublisher(tx, producer).publish(
      topics.deviceRegistry,
      { change, device: deviceToProto(device), changedFields: [...changed] },
      { key: device.deviceId, compoundId: device.compoundId },
    );
  };

  const lock = async (
    tx: ClientBase,
    deviceId: string,
  ): Promise<{ record: DeviceRecord; ciphertext: string }> => {
    const { rows } = await tx.query<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices WHERE device_id = $1 FOR UPDATE`,
      [deviceId],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError(`device ${deviceId} not found`, { reason: 'DEVICE_NOT_FOUND' });
    return { record: rowToRecord(row), ciphertext: row.secret_ciphertext };
  };

  /** Clear conflicts before writing (the unique indexes still decide under races). */
  const checkUnique = async (tx: ClientBase, deviceId: string, fields: DeviceFields): Promise<void> => {
    if (fields.gat1400Id) {
      const { rows } = await tx.query<{ device_id: string }>(
        `SELECT device_id FROM devices WHERE gat1400_id = $1 AND lifecycle = 'active' AND device_id <> $2`,
        [fields.gat1400Id, deviceId],
      );
      if (rows[0])
        throw new AlreadyExistsError(
          `device.gat1400_id ${fields.gat1400Id} is already used by device ${rows[0].device_id}`,
          { reason: 'DEVICE_GAT1400_ID_TAKEN' },
        );
    }
    if (fields.ipAddress) {
      const { rows } = await tx.query<{ device_id: string }>(
        `SELECT device_id FROM devices
          WHERE ip_address = $1::inet AND serial_number = $2 AND lifecycle = 'active' AND device_id <> $3`,
        [fields.ipAddress, fields.serialNumber, deviceId],
      );
      if (rows[0])
        throw new AlreadyExistsError(
          `device.ip_address ${fields.ipAddress} with serial number "${fields.serialNumber}" is already used by device ${rows[0].device_id}`,
          { reason: 'DEVICE_ADDRESS_TAKEN' },
        );
    }
  };

  const insert = async (
    tx: ClientBase,
    deviceId: string,
    fields: DeviceFields,
    secret: string,
  ): Promise<DeviceRecord> => {
    await checkUnique(tx, deviceId, fields);
    const { rows } = await tx.query<DeviceRow>(
      `INSERT INTO devices (device_id, gat1400_id, name, device_type, module, compound_id, address, zone_id, direction,
                            vendor, model, serial_number, protocol, ip_address, secret_ciphertext, search_text)
       VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULLIF($14, '')::inet, $15, $16)
       ON CONFLICT (device_id) DO NOTHING
       RETURNING ${DEVICE_COLUMNS}`,
      [
        deviceId,
        fields.gat1400Id,
        fields.name,
        fields.deviceType,
        fields.module,
        fields.compoundId,
        JSON.stringify(fields.address),
        fields.zoneId,
        fields.direction,
        fields.vendor,
        fields.model,
        fields.serialNumber,
        fields.protocol,
        fields.ipAddress,
        cipher.encrypt(secret, secretAad(deviceId)),
        searchText(fields),
      ],
    );
    if (!rows[0])
      throw new AlreadyExistsError(`device ${deviceId} already exists`, { reason: 'DEVICE_ALREADY_EXISTS' });
    const device = rowToRecord(rows[0]);
    await publish(tx, DeviceChangeKind.DEVICE_CHANGE_KIND_CREATED, device, []);
    return device;
  };

  const write = async (
    tx: ClientBase,
    current: DeviceRecord,
    fields: DeviceFields,
    changed: readonly string[],
    ciphertext?: string,
  ): Promise<DeviceRecord> => {
    await checkUnique(tx, current.deviceId, fields);
    const { rows } = await tx.query<DeviceRow>(
      `UPDATE devices SET gat1400_id = NULLIF($2, ''), name = $3, device_type = $4, module = $5, compound_id = $6,
              address = $7, zone_id = $8, direction = $9, vendor = $10, model = $11, serial_number = $12,
              protocol = $13, ip_address = NULLIF($14, '')::inet, search_text = $15,
              secret_ciphertext = COALESCE($16, secret_ciphertext),
              updated_at = now(), revision = revision + 1
        WHERE device_id = $1
        RETURNING ${DEVICE_COLUMNS}`,
      [
        current.deviceId,
        fields.gat1400Id,
        fields.name,
        fields.deviceType,
        fields.module,
        fields.compoundId,
        JSON.stringify(fields.address),
        fields.zoneId,
        fields.direction,
        fields.vendor,
        fields.model,
        fields.serialNumber,
        fields.protocol,
        fields.ipAddress,
        searchText(fields),
        ciphertext ?? null,
      ],
    );
    const device = rowToRecord(rows[0]!);
    await publish(tx, DeviceChangeKind.DEVICE_CHANGE_KIND_UPDATED, device, changed);
    return device;
  };

  const requireActive = (record: DeviceRecord): void => {
    if (record.lifecycle !== 'active')
      throw new FailedPreconditionError(`device ${record.deviceId} is decommissioned`, {
        reason: 'DEVICE_DECOMMISSIONED',
      });
  };

  return {
    async register(input, opts = {}) {
      const { fields, violations } = normaliseDevice(input);
      if (violations.length > 0) throw invalid(violations);
      const deviceId = opts.deviceId || uuidv7();
      const secret = opts.secret || generateSecret();
      const device = await mapUnique(withTransaction(pool, (tx) => insert(tx, deviceId, fields, secret)));
      return { device, secret };
    },

    async update(deviceId, input, mask, expectedRevision) {
      return mapUnique(
        withTransaction(pool, async (tx) => {
          const { record } = await lock(tx, deviceId);
          requireActive(record);
          if (expectedRevision && expectedRevision !== record.revision)
            throw new AbortedError(
              `device ${deviceId} is at revision ${record.revision}, not ${expectedRevision}: read it again`,
              { reason: 'DEVICE_REVISION_MISMATCH' },
            );
          const merged: DeviceInput = { ...recordToInput(record) };
          for (const field of mask) {
            const key = MUTABLE_FIELDS[field];
            (merged as Record<string, unknown>)[key] = input[key];
          }
          // The compound's address part follows compound_id unless the address is given too.
          if (mask.includes('compound_id') && !mask.includes('address') && merged.address)
            merged.address = {
              ...merged.address,
              compound: null,
              building: null,
              unit: null,
              room: null,
              code: '',
            };
          const { fields, violations } = normaliseDevice(merged);
          if (violations.length > 0) throw invalid(violations);
          const changed = changedFields(record, fields);
          if (changed.length === 0) return record;
          return write(tx, record, fields, changed);
        }),
      );
    },

    async decommission(deviceId, reason) {
      return withTransaction(pool, async (tx) => {
        const { record } = await lock(tx, deviceId);
        if (record.lifecycle === 'decommissioned') return record;
        const { rows } = await tx.query<DeviceRow>(
          `UPDATE devices SET lifecycle = 'decommissioned', decommissioned_at = now(), decommission_reason = $2,
                  updated_at = now(), revision = revision + 1
            WHERE device_id = $1 RETURNING ${DEVICE_COLUMNS}`,
          [deviceId, reason],
        );
        const device = rowToRecord(rows[0]!);
        await publish(tx, DeviceChangeKind.DEVICE_CHANGE_KIND_DECOMMISSIONED, device, [
          'lifecycle',
          'decommissioned_at',
        ]);
        return device;
      });
    },

    async rotateSecret(deviceId, given) {
      const secret = given || generateSecret();
      const device = await withTransaction(pool, async (tx) => {
        const { record } = await lock(tx, deviceId);
        requireActive(record);
        const { rows } = await tx.query<DeviceRow>(
          `UPDATE devices SET secret_ciphertext = $2, updated_at = now(), revision = revision + 1
            WHERE device_id = $1 RETURNING ${DEVICE_COLUMNS}`,
          [deviceId, cipher.encrypt(secret, secretAad(deviceId))],
        );
        // The secret itself is never published; consumers learn that the device changed.
        const updated = rowToRecord(rows[0]!);
        await publish(tx, DeviceChangeKind.DEVICE_CHANGE_KIND_UPDATED, updated, []);
        return updated;
      });
      return { device, secret };
    },

    async get(deviceId) {
      const { rows } = await pool.query<DeviceRow>(
        `SELECT ${DEVICE_COLUMNS} FROM devices WHERE device_id = $1`,
        [deviceId],
      );
      return rows[0] ? rowToRecord(rows[0]) : undefined;
    },

    async list(filter, pageSize, pageToken) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: string, value: unknown): void => {
        params.push(value);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (filter.compoundId) add('compound_id = ?', filter.compoundId);
      if (filter.scope) {
        params.push(...scopeParams(filter.scope));
        where.push(scopeCondition('compound_id', params.length - 1));
      }
      if (filter.deviceType) add('device_type = ?', filter.deviceType);
      if (filter.module) add('module = ?', filter.module);
      if (filter.lifecycle) add('lifecycle = ?', filter.lifecycle);
      if (filter.protocol) add('protocol = ?', filter.protocol);
      if (filter.text) add(`strpos(search_text, ?) > 0`, filter.text.toLowerCase());
      const filtered = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const count = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM devices ${filtered}`, params);
      const after = decodePageToken(pageToken);
      const pageWhere = [...where, `seq > $${params.length + 1}`];
      const { rows } = await pool.query<DeviceRow>(
        `SELECT ${DEVICE_COLUMNS} FROM devices WHERE ${pageWhere.join(' AND ')} ORDER BY seq LIMIT $${params.length + 2}`,
        [...params, after, pageSize + 1],
      );
      const page = rows.slice(0, pageSize);
      const last = page[page.length - 1];
      return {
        devices: page.map(rowToRecord),
        nextPageToken: rows.length > pageSize && last ? encodePageToken(Number(last.seq)) : '',
        totalSize: Number(count.rows[0]?.n ?? 0),
      };
    },

    async importRow(row) {
      return mapUnique(
        withTransaction(pool, async (tx): Promise<ImportOutcome> => {
          let found: { record: DeviceRecord; ciphertext: string } | undefined;
          if (row.deviceId) {
            const { rows } = await tx.query<DeviceRow>(
              `SELECT ${DEVICE_COLUMNS} FROM devices WHERE device_id = $1 FOR UPDATE`,
              [row.deviceId],
            );
            if (rows[0]) found = { record: rowToRecord(rows[0]), ciphertext: rows[0].secret_ciphertext };
          } else if (row.fields.gat1400Id) {
            const { rows } = await tx.query<DeviceRow>(
              `SELECT ${DEVICE_COLUMNS} FROM devices WHERE gat1400_id = $1 AND lifecycle = 'active' FOR UPDATE`,
              [row.fields.gat1400Id],
            );
            if (rows[0]) found = { record: rowToRecord(rows[0]), ciphertext: rows[0].secret_ciphertext };
          }
          if (!found) {
            const deviceId = row.deviceId || uuidv7();
            const secret = row.secret || generateSecret();
            const device = await insert(tx, deviceId, row.fields, secret);
            return { kind: 'created', device, generatedSecret: row.secret ? '' : secret };
          }
          const { record, ciphertext } = found;
          requireActive(record);
          const changed: string[] = changedFields(record, row.fields);
          let newCiphertext: string | undefined;
          if (row.secret && cipher.decryptString(ciphertext, secretAad(record.deviceId)) !== row.secret) {
            newCiphertext = cipher.encrypt(row.secret, secretAad(record.deviceId));
          }
          if (changed.length === 0 && newCiphertext === undefined)
            return { kind: 'unchanged', device: record };
          const device = await write(tx, record, row.fields, changed, newCiphertext);
          return { kind: 'updated', device };
        }),
      );
    },
  };
}

/** A unique index that fired under a race the pre-check could not see: a clear conflict. */
async function mapUnique<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (sqlState(error) !== '23505') throw error;
    const constraint = (error as { constraint?: string }).constraint ?? '';
    if (constraint === 'devices_gat1400_id_active')
      throw new AlreadyExistsError('device.gat1400_id is already used by another device', {
        reason: 'DEVICE_GAT1400_ID_TAKEN',
        cause: error,
      });
    if (constraint === 'devices_address_serial_active')
      throw new AlreadyExistsError(
        'device.ip_address with this serial number is already used by another device',
        {
          reason: 'DEVICE_ADDRESS_TAKEN',
          cause: error,
        },
      );
    throw new AlreadyExistsError('the device already exists', {
      reason: 'DEVICE_ALREADY_EXISTS',
      cause: error,
    });
  }
}

function encodePageToken(seq: number): string {
  return Buffer.from(JSON.stringify({ s: seq })).toString('base64url');
}

function decodePageToken(token: string): number {
  if (!token) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { s?: unknown };
    if (typeof parsed.s === 'number' && Number.isSafeInteger(parsed.s) && parsed.s >= 0) return parsed.s;
  } catch {
    // falls through
  }
  throw new InvalidArgumentError('invalid page token', [
    { field: 'page.page_token', description: 'not a token this service issued' },
  ]);
}
